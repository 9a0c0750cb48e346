from unaiverse.stats import Stats


class WStats(Stats):
    CUSTOM_WORLD_STATS_DYNAMIC_SCHEMA = {"badges_given": (int, 0)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

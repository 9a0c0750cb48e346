import numpy as np
import pytest

from wmverse.debate import AgentPool, Arena, Claim, ClaimTree, Stake, StakeSide, Tendency
from wmverse.debate.tendency import TENDENCY_ORDER


def _claim(cid, tendency, direct=0.0):
    return Claim(cid, tendency, f"claim {cid}", direct_score=direct)


def test_tree_net_score_is_direct_plus_pro_minus_con():
    tree = ClaimTree(_claim("c1", Tendency.SURVIVAL, 0.5))
    tree.add(Stake("o1", "c1", StakeSide.PRO, 1.0, Tendency.SURVIVAL))
    tree.add(Stake("o2", "c1", StakeSide.PRO, 0.25, Tendency.SURVIVAL))
    tree.add(Stake("o3", "c1", StakeSide.CON, 0.75, Tendency.STATUS))
    assert tree.net_score() == pytest.approx(0.5 + 1.25 - 0.75)
    assert tree.n_stakes == 3
    with pytest.raises(ValueError, match="added to the tree"):
        tree.add(Stake("o1", "other", StakeSide.PRO, 1.0, Tendency.SURVIVAL))
    with pytest.raises(ValueError, match=">= 0"):
        Stake("o1", "c1", StakeSide.PRO, -1.0, Tendency.SURVIVAL)


def test_resolve_sums_trees_per_tendency_and_picks_winner():
    claims = [
        _claim("s1", Tendency.SURVIVAL, 1.0),
        _claim("s2", Tendency.SURVIVAL),
        _claim("c1", Tendency.COMFORT, 1.5),
    ]
    stakes = [
        Stake("o1", "s2", StakeSide.PRO, 0.75, Tendency.SURVIVAL),
        Stake("o2", "c1", StakeSide.CON, 1.0, Tendency.SURVIVAL),
    ]
    result = Arena.resolve(claims, stakes)
    assert result.scores[Tendency.SURVIVAL] == pytest.approx(1.75)
    assert result.scores[Tendency.COMFORT] == pytest.approx(0.5)
    assert result.winner is Tendency.SURVIVAL and result.winning_score == pytest.approx(1.75)
    assert result.total_stakes == 2 and result.allocation_changes == {}
    with pytest.raises(KeyError, match="unknown claim"):
        Arena.resolve(claims, [Stake("o", "zzz", StakeSide.PRO, 1.0, Tendency.SURVIVAL)])
    assert Arena.resolve([], []).winner is None


def test_claim_json_round_trip():
    c = Claim("x", Tendency.CURIOSITY, "text", ("a", "b"), ("ea", "eb"), 0.3)
    assert Claim.from_json(c.to_json()) == c


def test_step_by_step_protocol(sample, lexical_judge):
    """The world's order: propose (each agent), stake (each agent), resolve, reallocate."""
    lexical_judge.prepare(sample.texts)
    agents = AgentPool()
    rng = np.random.default_rng(0)
    claims = [c for a in agents for c in a.propose(sample, lexical_judge, rng)]
    assert {c.tendency for c in claims} == set(Tendency)
    assert len({c.id for c in claims}) == len(claims)
    for agent in agents:
        assert 1 <= len(agent.claims) <= agent.n_claims
        for c in agent.claims:
            assert all(sid in sample for sid in c.support_ids)
            assert len(c.evidence) == len(c.support_ids) <= agent.evidence_per_claim
    stakes = []
    for agent in agents:
        mine = agent.stake(sample, claims, lexical_judge)
        own_ids = {c.id for c in agent.claims}
        assert all((s.claim_id in own_ids) == (s.side is StakeSide.PRO) for s in mine)
        assert all(s.agent is agent.tendency and s.weight >= 0 for s in mine)
        stakes += mine
    # every observation is owned by exactly one agent: one PRO and one CON stake each (ties aside)
    assert len(stakes) <= 2 * len(sample)
    result = Arena.resolve(claims, stakes)
    assert result.winner in Tendency


def test_run_full_debate_updates_agents(sample, lexical_judge):
    lexical_judge.prepare(sample.texts)
    agents = AgentPool()
    before = agents.allocations()
    trees, result = Arena(lexical_judge, seed=1).run_full_debate(sample, agents, learning_rate=0.5)
    after = agents.allocations()
    assert after == result.allocations
    assert set(trees) == {c.id for c in result.claims}
    for t in TENDENCY_ORDER:
        assert result.allocation_changes[t] == pytest.approx(after[t] - before[t])
    assert sum(after.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="needs a judge"):
        Arena().run_full_debate(sample, agents, 0.1)


def test_agent_pool_validation():
    with pytest.raises(ValueError, match="sum to 1"):
        AgentPool({t: 0.5 for t in Tendency})
    with pytest.raises(ValueError, match="missing"):
        AgentPool({Tendency.SURVIVAL: 1.0})
    pool = AgentPool()
    assert pool["survival"] is pool[Tendency.SURVIVAL]
    assert [a.tendency for a in pool.all()] == list(Tendency)

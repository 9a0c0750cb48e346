"""Package structure: no import cycles between the debate modules, no oversized module."""

import ast
from pathlib import Path

import pytest

import wmverse.debate

PACKAGE = Path(wmverse.debate.__file__).resolve().parent


def _module_imports() -> dict[str, set[str]]:
    """Module -> sibling modules it imports at module level (lazy imports inside functions excluded)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        if path.stem == "__init__":
            continue
        deps: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                deps.add(node.module.split(".")[0])
        graph[path.stem] = deps
    return graph


def test_debate_modules_import_no_cycle():
    graph = _module_imports()
    done: set[str] = set()

    def visit(mod: str, stack: tuple[str, ...]) -> None:
        assert mod not in stack, f"import cycle: {' -> '.join((*stack, mod))}"
        if mod in done:
            return
        for dep in graph.get(mod, ()):
            visit(dep, (*stack, mod))
        done.add(mod)

    for mod in graph:
        visit(mod, ())
    assert "llm_judge" not in graph["judges"] and "judge_factory" not in graph["llm_judge"]


def test_no_module_over_400_lines():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.glob("*.py")}
    assert max(sizes.values()) <= 400, sizes


def test_shared_judge_is_built_once_per_name_and_corpus():
    from wmverse.debate import LexicalJudge, shared_judge
    from wmverse.debate.judge_cache import clear_judge_cache

    clear_judge_cache()
    a = shared_judge("lexical", ["one text", "two texts"])
    assert isinstance(a, LexicalJudge) and a.fitted
    assert shared_judge(" Lexical ", ["one text", "two texts"]) is a
    assert shared_judge("lexical", ["two texts", "one text"]) is not a
    clear_judge_cache()
    assert shared_judge("lexical", ["one text", "two texts"]) is not a


def test_llm_fallback_is_built_from_a_name_without_the_factory():
    from wmverse.debate import LexicalJudge, LLMJudge, VectorJudge
    from wmverse.debate.llm_judge import fallback_judge

    assert isinstance(LLMJudge(replay_only=True, fallback="lexical").fallback, LexicalJudge)
    own = LexicalJudge()
    assert fallback_judge(own) is own and isinstance(fallback_judge("embedding"), VectorJudge)
    with pytest.raises(ValueError, match="fallback"):
        fallback_judge("llm")

"""A judge that asks a large language model which tendency owns each observation.

Backends: any OpenAI-compatible chat-completions endpoint (``urllib``, no SDK) or the
``claude`` command-line tool (``subprocess``). Every response is cached on disk under
the SHA-256 of (backend, model, prompt), so a rerun replays exactly and, with
``replay_only=True``, never calls out. Relevance for staking (many pairs per epoch)
is delegated to a vector ``fallback`` judge; the LLM decides ownership (prediction and
validation), in batches of ``batch_size`` observations per prompt.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .claims import Claim
from .embedding_judge import EmbeddingJudge
from .judges import VectorJudge
from .lexical_judge import LexicalJudge
from .tendency import TENDENCY_ORDER, Tendency, parse_tendency

__all__ = [
    "FALLBACK_JUDGES",
    "LLMJudge",
    "LLMJudgeError",
    "build_ownership_prompt",
    "fallback_judge",
    "parse_ownership_response",
]

SYSTEM_PROMPT = (
    "You classify short observations about a person by the motivation they reveal. Answer with JSON only."
)


#: Vector judges an :class:`LLMJudge` can build by name as its relevance fallback.
FALLBACK_JUDGES: dict[str, type[VectorJudge]] = {"lexical": LexicalJudge, "embedding": EmbeddingJudge}


class LLMJudgeError(RuntimeError):
    """The LLM could not be reached, or answered something unusable."""


def fallback_judge(fallback: VectorJudge | str) -> VectorJudge:
    """``fallback`` itself, or a new vector judge named by it (``lexical`` or ``embedding``)."""
    if not isinstance(fallback, str):
        return fallback
    key = fallback.strip().lower()
    if key not in FALLBACK_JUDGES:
        raise ValueError(f"unknown fallback judge {fallback!r}; use {' or '.join(FALLBACK_JUDGES)}")
    return FALLBACK_JUDGES[key]()


def build_ownership_prompt(
    texts: Sequence[str], claims: Sequence[Claim], allocations: dict[Tendency, float] | None = None
) -> str:
    """The ownership prompt: tendencies (with up to two strongest claims each), then numbered texts."""
    lines = ["Tendencies:"]
    for t in TENDENCY_ORDER:
        share = f" (current share {allocations[t]:.0%})" if allocations and t in allocations else ""
        lines.append(f"- {t.value}: {t.description}{share}")
        own = sorted((c for c in claims if c.tendency is t), key=lambda c: (-c.direct_score, c.id))[:2]
        for c in own:
            lines.append(f"    claim: {c.evidence[0] if c.evidence else c.text}")
    lines.append("")
    lines.append("Observations:")
    lines += [f"{i}. {text}" for i, text in enumerate(texts, 1)]
    lines.append("")
    lines.append(
        f"For each of the {len(texts)} observations, in order, name the one tendency that best explains it. "
        'Reply with a JSON array of tendency names only, e.g. ["survival", "curiosity"].'
    )
    return "\n".join(lines)


def parse_ownership_response(response: str, n: int) -> list[Tendency]:
    """Parse a JSON array of ``n`` tendency names out of ``response`` (surrounding prose is ignored)."""
    start, end = response.find("["), response.rfind("]")
    if start < 0 or end < start:
        raise LLMJudgeError(f"no JSON array in the LLM response: {response[:200]!r}")
    try:
        names = json.loads(response[start : end + 1])
    except json.JSONDecodeError as exc:
        raise LLMJudgeError(f"invalid JSON array in the LLM response ({exc}): {response[:200]!r}") from None
    if not isinstance(names, list) or len(names) != n:
        got = len(names) if isinstance(names, list) else type(names).__name__
        raise LLMJudgeError(f"expected {n} tendency names from the LLM, got {got}")
    try:
        return [parse_tendency(str(x)) for x in names]
    except ValueError as exc:
        raise LLMJudgeError(f"LLM answered an unknown tendency: {exc}") from None


class LLMJudge:
    """Ownership by an LLM, relevance by a vector ``fallback`` judge (default: lexical).

    ``backend`` is ``"openai"`` (needs ``base_url``, e.g. ``http://127.0.0.1:8000/v1``;
    ``api_key`` defaults to ``$OPENAI_API_KEY``) or ``"claude"`` (runs ``command -p PROMPT``).
    """

    name = "llm"

    def __init__(
        self,
        backend: str = "openai",
        base_url: str | None = None,
        model: str = "gpt-4o-mini",
        api_key: str | None = None,
        command: str = "claude",
        cache_dir: str | Path | None = None,
        replay_only: bool = False,
        batch_size: int = 20,
        timeout: float = 300.0,
        fallback: VectorJudge | str = "lexical",
    ):
        if backend not in ("openai", "claude"):
            raise ValueError(f"unknown LLM backend {backend!r}; use 'openai' or 'claude'")
        if backend == "openai" and not base_url:
            base_url = os.environ.get("OPENAI_BASE_URL")
        if backend == "openai" and not base_url and not replay_only:
            raise ValueError(
                "the openai backend needs base_url (or $OPENAI_BASE_URL), e.g. http://127.0.0.1:8000/v1"
            )
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.backend, self.base_url, self.model = backend, base_url, model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.command = command
        if cache_dir is None:
            cache_dir = Path(os.environ.get("WMVERSE_CACHE_DIR", ".wmverse_cache")) / "llm"
        self.cache_dir = Path(cache_dir)
        self.replay_only = replay_only
        self.batch_size = batch_size
        self.timeout = timeout
        self.fallback = fallback_judge(fallback)
        self.calls = 0  # backend calls actually made (cache misses)

    # -- raw completion with the on-disk cache ----------------------------------------
    def _key(self, prompt: str) -> str:
        ident = json.dumps({"backend": self.backend, "model": self.model, "prompt": prompt}, sort_keys=True)
        return hashlib.sha256(ident.encode("utf-8")).hexdigest()

    def complete(self, prompt: str) -> str:
        """The model's answer to ``prompt``, from the cache when present."""
        path = self.cache_dir / f"{self._key(prompt)}.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))["response"]
        if self.replay_only:
            raise LLMJudgeError(f"replay_only: no cached response for this prompt in {self.cache_dir}")
        response = self._call_openai(prompt) if self.backend == "openai" else self._call_claude(prompt)
        self.calls += 1
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"prompt": prompt, "response": response}), encoding="utf-8")
        os.replace(tmp, path)
        return response

    def _call_openai(self, prompt: str) -> str:
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}],
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        url = self.base_url.rstrip("/") + "/chat/completions"
        request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                data = json.loads(reply.read().decode("utf-8"))
            return data["choices"][0]["message"]["content"]
        except urllib.error.HTTPError as exc:
            raise LLMJudgeError(f"{url} answered HTTP {exc.code}: {exc.read()[:200]!r}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise LLMJudgeError(f"cannot reach {url}: {exc}") from None
        except (KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
            raise LLMJudgeError(f"{url} did not answer in the chat-completions format ({exc!r})") from None

    def _call_claude(self, prompt: str) -> str:
        try:
            done = subprocess.run(
                [self.command, "-p", prompt],
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError:
            raise LLMJudgeError(
                f"the {self.command!r} command was not found; install it or use backend='openai'"
            ) from None
        except subprocess.TimeoutExpired:
            raise LLMJudgeError(
                f"{self.command!r} timed out after {self.timeout}s; lower batch_size"
            ) from None
        if done.returncode != 0:
            raise LLMJudgeError(f"{self.command!r} exited {done.returncode}: {done.stderr[:200]}")
        return done.stdout

    # -- the Judge protocol ----------------------------------------------------------
    def prepare(self, texts: Sequence[str]) -> None:
        self.fallback.prepare(texts)

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        return self.fallback.similarity(a, b)

    def relevance(self, items: Sequence[str], claims: Sequence[Claim]) -> np.ndarray:
        return self.fallback.relevance(items, claims)

    def tendency_scores(self, items: Sequence[str], claims: Sequence[Claim]) -> np.ndarray:
        return self.fallback.tendency_scores(items, claims)

    def owners(
        self,
        items: Sequence[str],
        claims: Sequence[Claim],
        allocations: dict[Tendency, float] | None = None,
        prior_weight: float = 0.0,
    ) -> list[Tendency]:
        """Ask the LLM, ``batch_size`` texts per prompt (``prior_weight`` only toggles
        whether allocations are shown in the prompt)."""
        shown = allocations if prior_weight > 0 else None
        out: list[Tendency] = []
        for start in range(0, len(items), self.batch_size):
            batch = list(items[start : start + self.batch_size])
            prompt = build_ownership_prompt(batch, claims, shown)
            out += parse_ownership_response(self.complete(prompt), len(batch))
        return out

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "backend": self.backend,
            "base_url": self.base_url,
            "model": self.model,
            "command": self.command,
            "cache_dir": str(self.cache_dir),
            "batch_size": self.batch_size,
            "fallback": self.fallback.name,
        }

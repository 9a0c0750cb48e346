"""The LLM judge against a real local HTTP server speaking OpenAI chat-completions JSON."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wmverse.debate import LLMJudge, Tendency, make_judge
from wmverse.debate.llm_judge import LLMJudgeError, parse_ownership_response

KEYWORD = {"fire": "survival", "award": "status", "friend": "connection", "museum": "curiosity"}


class _Handler(BaseHTTPRequestHandler):
    requests: list = []
    broken = False

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append((self.path, body, self.headers.get("Authorization")))
        prompt = body["messages"][-1]["content"]
        observations = re.findall(r"^\d+\. (.*)$", prompt, flags=re.M)
        names = [next((v for k, v in KEYWORD.items() if k in o.lower()), "comfort") for o in observations]
        content = "Sure!" if type(self).broken else f"Here you go: {json.dumps(names)}"
        reply = {"choices": [{"message": {"role": "assistant", "content": content}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server():
    _Handler.requests = []
    _Handler.broken = False
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


TEXTS = [
    "She checked the fire exits twice.",
    "He framed the award above his desk.",
    "They met a friend for coffee.",
    "An hour at the museum.",
    "A long nap on Sunday.",
]


def test_owners_over_http_in_batches_then_replay_from_cache(server, tmp_path):
    judge = LLMJudge(base_url=server, model="local-test", api_key="k", cache_dir=tmp_path, batch_size=2)
    owners = judge.owners(TEXTS, [])
    assert [o.value for o in owners] == ["survival", "status", "connection", "curiosity", "comfort"]
    assert judge.calls == 3 and len(_Handler.requests) == 3
    path, body, auth = _Handler.requests[0]
    assert path == "/v1/chat/completions" and body["model"] == "local-test" and auth == "Bearer k"
    assert body["temperature"] == 0
    # replay: a new judge that may not call out reproduces the run exactly from disk
    replay = LLMJudge(model="local-test", cache_dir=tmp_path, batch_size=2, replay_only=True)
    assert replay.owners(TEXTS, []) == owners
    assert replay.calls == 0 and len(_Handler.requests) == 3
    with pytest.raises(LLMJudgeError, match="replay_only"):
        replay.owners(["a text never asked about"], [])


def test_unusable_answers_and_unreachable_server_raise(server, tmp_path):
    _Handler.broken = True
    judge = make_judge("llm", base_url=server, cache_dir=tmp_path)
    with pytest.raises(LLMJudgeError, match="no JSON array"):
        judge.owners(TEXTS[:1], [])
    dead = LLMJudge(base_url="http://127.0.0.1:9/v1", cache_dir=tmp_path / "other", timeout=2)
    with pytest.raises(LLMJudgeError, match="cannot reach"):
        dead.owners(TEXTS[:1], [])


def test_parse_ownership_response():
    assert parse_ownership_response('["Survival", "meaning"]', 2) == [Tendency.SURVIVAL, Tendency.MEANING]
    with pytest.raises(LLMJudgeError, match="expected 3"):
        parse_ownership_response('["survival"]', 3)
    with pytest.raises(LLMJudgeError, match="unknown tendency"):
        parse_ownership_response('["greed"]', 1)


def test_claude_backend_via_subprocess(tmp_path):
    script = tmp_path / "fake-claude"
    script.write_text("#!/bin/sh\necho '[\"autonomy\"]'\n")
    script.chmod(0o755)
    judge = LLMJudge(backend="claude", command=str(script), cache_dir=tmp_path / "cache")
    assert judge.owners(["She chose her own route."], []) == [Tendency.AUTONOMY]
    assert judge.calls == 1
    missing = LLMJudge(backend="claude", command=str(tmp_path / "nope"), cache_dir=tmp_path / "c2")
    with pytest.raises(LLMJudgeError, match="not found"):
        missing.owners(["x"], [])


def test_relevance_is_delegated_to_the_fallback(sample, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    judge = LLMJudge(base_url="http://127.0.0.1:9/v1", cache_dir="/nonexistent", fallback="lexical")
    judge.prepare(sample.texts)
    rel = judge.relevance(sample.texts[:3], [])
    assert rel.shape == (3, 0)
    with pytest.raises(ValueError, match="needs base_url"):
        LLMJudge(base_url=None)

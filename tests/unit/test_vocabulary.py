"""The model's vocabulary, read from the installed model's tokenizer.json without the tokenizer."""

from codeanalysisd.embed import vocabulary, weights


def test_the_vocabulary_holds_english_words_and_not_identifiers():
    known = vocabulary.words()
    assert {"split", "file", "length", "temporary", "directory"} <= known
    assert not {"gettempdir", "get_close_matches", "nlargest"} & known


def test_it_is_the_tokenizer_s_whole_words():
    vocab = weights.tokenizer().get_vocab()
    assert vocabulary.words() == {w for w in vocab if not w.startswith("##")}

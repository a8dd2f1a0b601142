"""The cache's word index: which memories hold each word, and the newest holding every name."""

from __future__ import annotations

from jotty.memory.postings import WordIndex


def index_of(texts: dict[int, str]) -> WordIndex:
    index = WordIndex()
    for seq, text in texts.items():
        index.add(seq, text)
    return index


def test_words_are_whole_lower_cased_folded_and_split_at_apostrophes() -> None:
    index = index_of({1: "Ada's cat met Bo", 2: "ada and the dog", 3: "Adams", 4: "Kim O'Brien met José"})
    assert index.count("ada") == 2 and index.count("adams") == 1 and index.count("cat") == 1
    assert index.count("the") == 1  # stopwords too: a name can be one ("Will", "Very")
    assert index.count("brien") == index.count("o'brien") == index.count("jose") == index.count("josé") == 1


def test_rows_added_out_of_order_are_found_newest_first() -> None:
    index = index_of({5: "Ada and Bo", 2: "Ada and Bo again", 9: "Ada and Bo once more", 7: "Ada alone"})
    assert index.newest(["ada", "bo"], limit=2, window=10) == ([9, 5, 2], [])


def test_newest_holding_every_name_come_first_newest_first() -> None:
    index = index_of({n: f"Ada and Bo day {n}" if n % 3 == 0 else f"Ada alone day {n}" for n in range(1, 31)})
    every, some = index.newest(["ada", "bo"], limit=5, window=4)
    assert every == [30, 27, 24, 21] and some == []  # the window caps them; enough to fill the limit


def test_too_few_holding_every_name_adds_the_newest_holding_the_rarest() -> None:
    texts = {n: f"Ada on day {n}" for n in range(1, 21)}
    texts.update({n: f"Bo on day {n}" for n in range(21, 26)})
    texts[26] = "Ada met Bo"
    index = index_of(texts)
    every, some = index.newest(["ada", "bo", "zed"], limit=5, window=8)
    assert every == [26]  # "zed" is held by nothing: it does not count
    assert some == [25, 24, 23, 22, 21]  # Bo (6) is the rarest; Ada (21) would pass the window of 8


def test_names_held_by_nothing_find_nothing() -> None:
    assert index_of({1: "Ada"}).newest(["zed"], limit=3, window=9) == ([], [])


def test_names_that_fold_alike_count_once() -> None:
    index = index_of({1: "Bo", 2: "Bo", 3: "Bo", 4: "Ada", 5: "Ada", 6: "Ada", 7: "Ada"})
    plain = index.newest(["bo", "ada"], limit=3, window=8)
    assert plain == ([], [7, 6, 5, 4, 3, 2, 1])
    assert index.newest(["bo", "bó", "ada"], limit=3, window=8) == plain  # "Bo and Bó" name one word

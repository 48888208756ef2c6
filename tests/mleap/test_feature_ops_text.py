"""Text feature ops (tokenizers, n-grams, stop words, word filter) and vectorizers (count, hashing TF,
feature hasher, idf, word2vec), on hand-written bundles and on bundles the ``mleap`` package writes.

Expected values come from Spark's and MLeap's own published outputs (cited where used), from
scikit-learn, or are computed here by hand from the attributes.
"""

from __future__ import annotations

import os
import random
import tempfile

import numpy as np
import pytest
from sklearn.utils import murmurhash3_32

from flink_ml_udf.errors import BundleError, ScoringError
from flink_ml_udf.mleap import Frame, load_bundle, murmur3
from flink_ml_udf.mleap.compiled.murmur3 import hash_offsets
from flink_ml_udf.mleap.ops.java_text import java_regex, java_split
from flink_ml_udf.mleap.types import DataType
from tests import bundle_writer as bw

TEXT = DataType("string")
TOKENS = DataType("string", "list")


def tokens_column(*rows):
    column = np.empty(len(rows), dtype=object)
    for i, row in enumerate(rows):
        column[i] = row
    return column


def one_node(tmp_path, op, attributes, inputs=(("input", "in"),), outputs=(("output", "out"),)):
    node = bw.Node("n", op, attributes, inputs=list(inputs), outputs=list(outputs))
    return load_bundle(bw.write_bundle(tmp_path / "b", node))


def run(model, on_invalid="raise", **columns):
    frame = Frame.from_columns(columns, on_invalid)
    model.transform(frame)
    return frame


def out(frame, column="out"):
    values = frame.get(column, "test")
    return values.tolist()


# -- murmur3 ------------------------------------------------------------------------------------

# Spark common/unsafe/src/test/java/org/apache/spark/unsafe/hash/Murmur3_x86_32Suite.java (seed 0).
SPARK_INT_HASHES = {0: 593689054, -42: -189366624, 42: -1134849565, -(2**31): -1718298732, 2**31 - 1: -1653689534}
SPARK_LONG_HASHES = {0: 1669671676, -42: -846261623, 42: 1871679806, -(2**63): 1366273829, 2**63 - 1: -2106506049}


def test_murmur3_int_and_long_match_spark_suite():
    assert {v: murmur3.hash_int(v, seed=0) for v in SPARK_INT_HASHES} == SPARK_INT_HASHES
    assert {v: murmur3.hash_long(v, seed=0) for v in SPARK_LONG_HASHES} == SPARK_LONG_HASHES
    assert murmur3.hash_int(1) == -559580957  # seed 42: FeatureHasher's hash of boolean true


@pytest.mark.parametrize(
    "text, v1, v2",
    [  # seed 42, from /work/shared/mleap-spec/features.md (hashing_term_frequency)
        ("", 142593372, 142593372),
        ("a", 1485273170, -1293573533),
        ("abc", 1322437556, 1313807976),
        ("abcd", -396302900, -396302900),
        ("spark", 2101843105, -226056714),
        ("日本", -336983209, 685738085),
    ],
)
def test_murmur3_known_string_hashes(text, v1, v2):
    assert murmur3.hash_string(text, 1) == v1
    assert murmur3.hash_string(text, 2) == v2
    assert murmur3.hash_strings([text], 1).tolist() == [v1]
    assert murmur3.hash_strings([text], 2).tolist() == [v2]
    encoded = np.frombuffer(text.encode(), dtype=np.uint8)
    offsets = np.array([0, len(encoded)], dtype=np.int32)
    assert hash_offsets(encoded, offsets, 1, 42).tolist() == [v1]
    assert hash_offsets(encoded, offsets, 2, 42).tolist() == [v2]


def test_compiled_murmur3_equals_the_reference_on_strings_back_to_back():
    """The router's compiled kernel: every length (block tails of 0-3 bytes, bytes over 127 whose
    Java sign extension v1 mixes in), empty strings and strings longer than the numpy path's limit."""
    rng = np.random.default_rng(7)
    strings = [bytes(rng.integers(0, 256, size)) for size in list(range(0, 12)) * 20 + [300, 1000, 4097]]
    data = np.frombuffer(b"".join(strings), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in strings])]).astype(np.int32)
    for version in (1, 2):
        expected = [murmur3.hash_bytes(s, version, 42) for s in strings]
        assert hash_offsets(data, offsets, version, 42).tolist() == expected


def test_murmur3_v2_is_standard_murmur3_and_vectorized_matches_scalar():
    # SPARK-23381: hashUnsafeBytes2 equals the reference MurmurHash3_x86_32, which sklearn wraps.
    rnd = random.Random(7)
    alphabet = "ab z09é日本\U0001f600-"
    strings = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40))) for _ in range(2000)]
    strings.append("x" * 1000)  # longer than the vectorized path takes: the scalar path
    assert murmur3.hash_strings(strings, 2).tolist() == [murmurhash3_32(s, seed=42) for s in strings]
    assert murmur3.hash_strings(strings, 1).tolist() == [murmur3.hash_string(s, 1) for s in strings]


def test_murmur3_rejects_unknown_version():
    with pytest.raises(ValueError, match="hash version must be 1 or 2, not 3"):
        murmur3.hash_bytes(b"a", 3)


# -- Java text helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, text, expected",
    [
        (r"\s", "a  b", ["a", "", "b"]),
        (r"\s", " a", ["", "a"]),
        (r"\s", "a b  ", ["a", "b"]),
        (r"\s", "", [""]),
        (r"\s", "   ", []),
        (r"(,)", "a,b", ["a", "b"]),  # groups never enter the result (re.split would add them)
        (r"(?=b)", "bab", ["ba", "b"]),  # no leading empty string from a zero-width match at 0
        (r"x", "abc", ["abc"]),
    ],
)
def test_java_split(pattern, text, expected):
    assert java_split(java_regex(pattern), text) == expected


def test_java_regex_dialect():
    assert java_regex(r"\w+").findall("héllo wörld") == ["h", "llo", "w", "rld"]  # ASCII \w
    assert java_regex(r"\p{Punct}+").findall("a,.b!") == [",.", "!"]
    assert java_regex(r"[\p{Alpha}]+").findall("ab1cd") == ["ab", "cd"]
    assert java_regex(r"\Qa.b\E").findall("a.b axb") == ["a.b"]
    assert java_regex(r"a.b").findall("a\rb a\nb a-b") == ["a-b"]  # Java's '.' stops at \r too
    assert java_regex(r"(?s)a.b").findall("a\rb") == ["a\rb"]
    assert java_regex(r"(?i)straße").findall("STRASSE Straße STRAßE") == ["Straße", "STRAßE"]


# -- tokenizer --------------------------------------------------------------------------------------


def test_tokenizer_splits_on_every_whitespace_char_after_lowercasing(tmp_path):
    model = one_node(tmp_path, "tokenizer", {})
    assert [str(c.dtype) for c in model.input_schema] == ["string not null"]
    assert [str(c.dtype) for c in model.output_schema] == ["list<string>"]
    text = np.array(["Hello there DUDE", "a  b\tC\n", " x", "", "   ", "ÀÉ Σ"], dtype=object)
    assert out(run(model, **{"in": (text, TEXT)})) == [
        ["hello", "there", "dude"],  # MLeap TokenizerModelSpec
        ["a", "", "b", "c"],
        ["", "x"],
        [""],
        [],
        ["àé", "σ"],
    ]


def test_tokenizer_rejects_null(tmp_path):
    model = one_node(tmp_path, "tokenizer", {})
    with pytest.raises(ScoringError) as info:
        run(model, **{"in": (np.array(["a", None], dtype=object), TEXT)})
    assert str(info.value) == f"bundle {tmp_path / 'b'} → node n (tokenizer): input column 'in' is null (row 1)"
    frame = run(model, on_invalid="mark", **{"in": (np.array(["a", None], dtype=object), TEXT)})
    assert frame.rejected.tolist() == [False, True]


def test_tokenizer_of_a_numeric_column_uses_java_to_string(tmp_path):
    model = one_node(tmp_path, "tokenizer", {})
    frame = run(model, **{"in": (np.array([1.0, 1e7]), DataType("double", nullable=False))})
    assert out(frame) == [["1.0"], ["1.0e7"]]


# -- regex_tokenizer -------------------------------------------------------------------------------


def regex_tokenizer(tmp_path, regex, gaps, min_length, lowercase):
    attributes = {"regex": bw.string(regex), "match_gaps": bw.boolean(gaps), "token_min_length": {"int": min_length}}
    attributes["lowercase_text"] = bw.boolean(lowercase) if lowercase else {}  # the JVM writes false as {}
    return one_node(tmp_path, "regex_tokenizer", attributes)


def test_regex_tokenizer_gaps_and_min_length(tmp_path):
    model = regex_tokenizer(tmp_path, r"\W+", True, 2, True)
    text = np.array(["Hi, I heard about Spark!", "Logistic,regression,models,are,neat", ",a,bb,"], dtype=object)
    assert out(run(model, **{"in": (text, TEXT)})) == [
        ["hi", "heard", "about", "spark"],
        ["logistic", "regression", "models", "are", "neat"],
        ["bb"],  # the leading "" and "a" are shorter than 2
    ]


def test_regex_tokenizer_matches_without_lowercasing_and_counts_utf16_units(tmp_path):
    model = regex_tokenizer(tmp_path, r"\S+", False, 2, False)
    text = np.array(["Ab c \U0001f600 dE"], dtype=object)
    assert out(run(model, **{"in": (text, TEXT)})) == [["Ab", "\U0001f600", "dE"]]  # the emoji is 2 UTF-16 units


def test_regex_tokenizer_unsupported_regex_is_a_load_error(tmp_path):
    with pytest.raises(BundleError) as info:
        regex_tokenizer(tmp_path, r"\p{L}+", False, 1, True)
    assert str(info.value).endswith(
        "→ attribute regex: regex '\\\\p{L}+': Unicode property class \\p{L} is not supported "
        "(only the ASCII POSIX classes Alpha, Digit, Alnum, Punct, Upper, Lower, Space, ...)"
    )
    with pytest.raises(BundleError, match=r"attribute regex: regex '\[a-z&&\[\^b\]\]': character class intersection"):
        regex_tokenizer(tmp_path, "[a-z&&[^b]]", False, 1, True)


# -- ngram / stopwords / word_filter --------------------------------------------------------------


def test_ngram(tmp_path):
    model = one_node(tmp_path, "ngram", {"n": bw.long(2)})
    tokens = tokens_column(["hi", "i", "heard", "about", "spark"], ["one"], [], ["a", "b"])
    assert out(run(model, **{"in": (tokens, TOKENS)})) == [
        ["hi i", "i heard", "heard about", "about spark"],  # Spark's NGram docs example
        [],
        [],
        ["a b"],
    ]


def test_ngram_needs_n_of_at_least_one(tmp_path):
    with pytest.raises(BundleError, match="attribute n: must be at least 1, found 0"):
        one_node(tmp_path, "ngram", {"n": {}})


def test_ngram_rejects_null_list(tmp_path):
    model = one_node(tmp_path, "ngram", {"n": bw.long(2)})
    with pytest.raises(ScoringError, match=r"node n \(ngram\): input column 'in' is null \(row 0\)"):
        run(model, **{"in": (tokens_column(None, ["a"]), TOKENS)})


@pytest.mark.parametrize(
    "case_sensitive, expected",
    [
        (False, [["quick", "fox"], ["Balloon"], [None, "x"]]),
        (True, [["The", "quick", "fox"], ["Balloon"], [None, "x"]]),
    ],
)
def test_stopwords_remover(tmp_path, case_sensitive, expected):
    attributes = {"stop_words": bw.string_list(["the", "a", "A"]), "case_sensitive": bw.boolean(case_sensitive)}
    model = one_node(tmp_path, "stopwords_remover", attributes)
    tokens = tokens_column(["The", "quick", "a", "fox"], ["Balloon", "A"], [None, "x", "the"])
    assert out(run(model, **{"in": (tokens, TOKENS)})) == expected


def test_word_filter_keeps_long_words_of_letters(tmp_path):
    model = one_node(tmp_path, "word_filter", {"length": {"int": 3}})
    tokens = tokens_column(["this", "is", "a", "test4", "héllo", "abc", "日本語です", "ab\U0001d400cd", "don't"])
    assert out(run(model, **{"in": (tokens, TOKENS)})) == [["this", "héllo", "日本語です"]]


# -- count_vectorizer ---------------------------------------------------------------------------------


def count_vectorizer(tmp_path, vocabulary, binary=False, min_tf=None):
    attributes = {"vocabulary": bw.string_list(vocabulary), "binary": bw.boolean(binary) if binary else {}}
    attributes["min_tf"] = {} if min_tf is None else bw.double(min_tf)
    return one_node(tmp_path, "count_vectorizer", attributes)


def test_count_vectorizer_counts_in_vocabulary_order(tmp_path):
    model = count_vectorizer(tmp_path, ["a", "b", "c"])
    assert [str(c.dtype) for c in model.output_schema] == ["tensor<double>[3]"]
    tokens = tokens_column(["a", "b", "c"], ["a", "b", "b", "c", "a", "zz"], [], ["q"])
    assert out(run(model, **{"in": (tokens, TOKENS)})) == [[1, 1, 1], [2, 2, 1], [0, 0, 0], [0, 0, 0]]


def test_count_vectorizer_min_tf_fraction_counts_out_of_vocabulary_tokens(tmp_path):
    # 6 tokens (one unknown), min_tf 0.3 -> threshold 1.8: only counts of 2 survive.
    model = count_vectorizer(tmp_path, ["a", "b", "c"], min_tf=0.3)
    assert out(run(model, **{"in": (tokens_column(["a", "b", "b", "c", "a", "zz"]), TOKENS)})) == [[2, 2, 0]]
    model = count_vectorizer(tmp_path / "abs", ["a", "b", "c"], binary=True, min_tf=2.0)
    assert out(run(model, **{"in": (tokens_column(["a", "b", "b", "c", "a"]), TOKENS)})) == [[1, 1, 0]]


def test_count_vectorizer_duplicate_term_is_a_load_error(tmp_path):
    with pytest.raises(BundleError, match="attribute vocabulary: term 'a' appears more than once"):
        count_vectorizer(tmp_path, ["a", "b", "a"])


# -- hashing_term_frequency --------------------------------------------------------------------------------

# Spark's TF-IDF docs example (numFeatures 20) over its three tokenized sentences. v1 outputs from the
# Spark 2.x docs/examples (TfIdfExample comments): (20,[0,5,9,17],[1,1,1,2]), (20,[2,7,9,13,15],[1,1,3,1,1]),
# (20,[4,6,13,15,18],[1,...]). v2 output for the first sentence from Spark 3.x: (20,[6,8,13,16],[1,1,1,2]).
SENTENCES = [
    "hi i heard about spark".split(),
    "i wish java could use case classes".split(),
    "logistic regression models are neat".split(),
]


def sparse(size, entries):
    dense = [0.0] * size
    for index, value in entries.items():
        dense[index] = value
    return dense


def htf(tmp_path, size, version=None, binary=False):
    attributes = {"num_features": bw.long(size)}
    if version is not None:
        attributes["hashUnsafeBytesVersion"] = {"int": version}
    if binary:
        attributes["binary"] = bw.boolean(True)
    return one_node(tmp_path, "hashing_term_frequency", attributes)


def test_hashing_tf_v1_matches_spark2_docs_and_is_the_default(tmp_path):
    model = htf(tmp_path, 20)
    assert out(run(model, **{"in": (tokens_column(*SENTENCES), TOKENS)})) == [
        sparse(20, {0: 1, 5: 1, 9: 1, 17: 2}),
        sparse(20, {2: 1, 7: 1, 9: 3, 13: 1, 15: 1}),
        sparse(20, {4: 1, 6: 1, 13: 1, 15: 1, 18: 1}),
    ]


def test_hashing_tf_v2_matches_spark3_docs(tmp_path):
    model = htf(tmp_path, 20, version=2)
    assert out(run(model, **{"in": (tokens_column(SENTENCES[0], []), TOKENS)})) == [
        sparse(20, {6: 1, 8: 1, 13: 1, 16: 2}),
        [0.0] * 20,
    ]
    model = htf(tmp_path / "b64", 64, version=2)  # numFeatures 64: hi, i, heard, about, spark -> 12, 16, 28, 33, 54
    assert np.flatnonzero(run(model, **{"in": (tokens_column(SENTENCES[0]), TOKENS)}).get("out", "t")[0]).tolist() == [
        12,
        16,
        28,
        33,
        54,
    ]


def test_hashing_tf_binary_and_null_term(tmp_path):
    model = htf(tmp_path, 20, version=2, binary=True)
    frame = run(model, **{"in": (tokens_column(["spark", "spark", None]), TOKENS)})
    spark_index = murmurhash3_32("spark", seed=42) % 20
    assert out(frame) == [sparse(20, {spark_index: 1.0, 42 % 20: 1.0})]  # a null term hashes to the seed


def test_hashing_tf_needs_positive_size(tmp_path):
    with pytest.raises(BundleError, match="attribute num_features: must be positive, found 0"):
        one_node(tmp_path, "hashing_term_frequency", {"num_features": {}})


# -- feature_hasher -----------------------------------------------------------------------------------------


def feature_hasher(tmp_path, names, types, categorical=(), size=262144, columns=None):
    columns = columns or names
    attributes = {
        "num_features": bw.long(size),
        "categorical_cols": bw.string_list(list(categorical)),
        "input_shapes": bw.scalar_shapes(len(names)),
        "basic_types": {"type": "list", "basic_type": list(types)},
        "input_names": bw.string_list(list(names)),
    }
    inputs = [(f"input{i}", c) for i, c in enumerate(columns)]
    return one_node(tmp_path, "feature_hasher", attributes, inputs=inputs)


def test_feature_hasher_matches_spark_docs(tmp_path):
    # Spark docs (ml-features, FeatureHasher): real, bool, stringNum, string over 2^18 features.
    model = feature_hasher(tmp_path, ["real", "bool", "stringNum", "string"], ["double", "boolean", "string", "string"])
    frame = run(
        model,
        real=(np.array([2.2, 3.3, 4.4, 5.5]), DataType("double", nullable=False)),
        bool=(np.array([True, False, False, False], dtype=object), DataType("boolean", nullable=False)),
        stringNum=(np.array(["1", "2", "3", "4"], dtype=object), TEXT),
        string=(np.array(["foo", "bar", "baz", "foo"], dtype=object), TEXT),
    )
    values = frame.get("out", "t")
    expected = [
        {174475: 2.2, 247670: 1.0, 257907: 1.0, 262126: 1.0},
        {70644: 1.0, 89673: 1.0, 173866: 1.0, 174475: 3.3},
        {22406: 1.0, 70644: 1.0, 174475: 4.4, 187923: 1.0},
        {70644: 1.0, 101499: 1.0, 174475: 5.5, 257907: 1.0},
    ]
    for row, entries in zip(values, expected):
        assert {int(i): row[i] for i in np.flatnonzero(row)} == entries


def test_feature_hasher_hashes_original_names_categorical_numbers_and_skips_nulls(tmp_path):
    size = 1 << 10
    model = feature_hasher(
        tmp_path, ["age", "zip"], ["double", "int"], categorical=["zip"], size=size, columns=["c_age", "c_zip"]
    )
    nulls = np.array([False, True])
    frame = Frame(2)
    frame.add("c_age", np.array([0.0, 7.5]), DataType("double"))
    frame.add("c_zip", np.array([1234.0, 0.0]), DataType("integer"), nulls=nulls)
    model.transform(frame)
    age = murmurhash3_32("age", seed=42) % size  # the bundle's input name, not the frame column
    zip_1234 = murmurhash3_32("zip=1234", seed=42) % size
    assert out(frame)[0] == sparse(size, {zip_1234: 1.0})  # age 0.0 is a stored zero
    assert out(frame)[1] == sparse(size, {age: 7.5})  # null zip: no entry


def test_feature_hasher_port_count_must_match(tmp_path):
    with pytest.raises(BundleError) as info:
        feature_hasher(tmp_path, ["a", "b"], ["double", "double"], columns=["a"])
    assert str(info.value).endswith(
        "has 1 input ports, 2 input_names, 2 basic_types and 2 input_shapes; they must agree"
    )


# -- idf ----------------------------------------------------------------------------------------------------


def test_idf_scales_each_term(tmp_path):
    idf = [0.6931471805599453, 0.28768207245178085, 1.3862943611198906]
    model = one_node(tmp_path, "idf", {"idf": bw.tensor(idf)})
    x = np.array([[1.0, 3.0, 0.0], [2.0, 0.0, 1.0]])
    frame = run(model, **{"in": (x, DataType("double", "tensor", (3,)))})
    assert out(frame) == [[1.0 * idf[0], 3.0 * idf[1], 0.0], [2.0 * idf[0], 0.0, 1.0 * idf[2]]]
    with pytest.raises(ScoringError, match="input column 'in' has size 4, the idf vector has 3 values"):
        run(model, **{"in": (np.ones((1, 4)), DataType("double", "tensor", (4,)))})


# -- word_to_vector -----------------------------------------------------------------------------------------


def word2vec(tmp_path, words, vectors, kernel=None, indices=None):
    attributes = {"words": bw.string_list(words), "word_vectors": bw.double_list(np.ravel(vectors))}
    if kernel:
        attributes["kernel"] = bw.string(kernel)
    if indices is not None:
        attributes["indices"] = bw.long_list(indices)
    return one_node(tmp_path, "word_to_vector", attributes)


def test_word_to_vector_default_kernel_averages_over_all_tokens(tmp_path):
    vectors = np.array([[1.0, 2.0], [3.0, -1.0]])
    model = word2vec(tmp_path, ["b", "a"], vectors, indices=[1, 0])  # a -> row 0, b -> row 1
    tokens = tokens_column(["a", "b", "zz"], ["b"], [], ["zz"])
    assert out(run(model, **{"in": (tokens, TOKENS)})) == [
        list((vectors[0] + vectors[1]) * (1.0 / 3)),  # the unknown token counts in the length
        [3.0, -1.0],
        [0.0, 0.0],  # empty sentence: an empty sparse vector
        [0.0, 0.0],
    ]


def test_word_to_vector_sqrt_kernel_matches_mleap_spec(tmp_path):
    # mleap-core WordToVectorModelSpec, "Sqrt kernel" (35-dimensional vectors, tolerance 1e-6).
    hello = [
        -0.02743354,
        0.13925314,
        -0.41874424,
        0.05635237,
        -1.01364303,
        0.13555442,
        -0.36437142,
        0.10494551,
        1.25634718,
        0.74919909,
        -0.75405639,
        0.34798685,
        -0.33082211,
        -1.83296537,
        1.8524611,
        0.16053002,
        0.05308712,
        -0.61047131,
        -2.04251647,
        -0.6457383,
        -0.06899478,
        -1.06984603,
        1.81890905,
        -1.57762015,
        -1.14214861,
        -0.37704349,
        -1.13758969,
        -1.11241293,
        -0.01736556,
        0.55350637,
        1.29117298,
        0.6780861,
        0.72507775,
        0.38882053,
        -1.13152575,
    ]
    there = [
        0.05639598,
        -0.0189869,
        0.01236993,
        0.00477022,
        -0.10707449,
        0.02502576,
        0.0702049,
        0.07715208,
        0.03785434,
        0.06749821,
        0.0028507,
        0.03143736,
        -0.07800865,
        -0.066576,
        0.05038944,
        0.04129622,
        0.05770208,
        -0.09861612,
        -0.02329824,
        -0.03803944,
        -0.01226865,
        -0.03243028,
        0.05924392,
        -0.07248155,
        -0.03818463,
        0.03131858,
        -0.03253553,
        0.04506788,
        -0.02503723,
        -0.03580079,
        0.05802456,
        -0.00171577,
        -0.07222789,
        0.01021192,
        0.01579604,
    ]
    make = [
        1.69664776,
        -0.9033435,
        -1.13164949,
        1.94182444,
        -0.53111398,
        2.28728724,
        1.39580894,
        1.38314795,
        -1.03503716,
        1.0247947,
        -2.175174,
        1.62514234,
        -0.64084077,
        -0.20218629,
        -0.0694286,
        0.37854579,
        -2.70390058,
        -2.27423668,
        -2.79813218,
        -0.46218753,
        0.77630186,
        -0.82613772,
        1.18320072,
        -2.93088889,
        0.6440177,
        -0.02956525,
        -1.51469374,
        -2.94850779,
        -0.89843947,
        -0.16953184,
        -1.4054004,
        -1.22051024,
        0.41841957,
        0.26196802,
        3.39272285,
    ]
    expected_hello = [
        -0.00489383,
        0.02484115,
        -0.07469912,
        0.01005261,
        -0.18082216,
        0.02418134,
        -0.06499964,
        0.01872106,
        0.22411777,
        0.13364843,
        -0.13451492,
        0.06207682,
        -0.05901483,
        -0.32697977,
        0.33045758,
        0.02863669,
        0.00947013,
        -0.108901,
        -0.36436126,
        -0.11519223,
        -0.01230787,
        -0.19084813,
        0.32447228,
        -0.28142914,
        -0.20374607,
        -0.06726019,
        -0.20293281,
        -0.19844157,
        -0.00309781,
        0.09873912,
        0.23033029,
        0.1209627,
        0.12934546,
        0.06936107,
        -0.20185107,
    ]
    expected_sentence = [
        0.13878191,
        -0.06297886,
        -0.1236953,
        0.16108668,
        -0.13284827,
        0.19686932,
        0.0885994,
        0.12588461,
        0.02084325,
        0.14810168,
        -0.23535359,
        0.16121693,
        -0.08441966,
        -0.16903109,
        0.14745265,
        0.04667632,
        -0.20855054,
        -0.23993334,
        -0.39118211,
        -0.09216406,
        0.05589835,
        -0.15509237,
        0.24620885,
        -0.36842539,
        -0.04313309,
        -0.03018265,
        -0.21592611,
        -0.32297428,
        -0.07566708,
        0.02800181,
        -0.00452011,
        -0.04376236,
        0.08615666,
        0.05316085,
        0.18312679,
    ]
    model = word2vec(tmp_path, ["hello", "there", "{make}"], [hello, there, make], kernel="sqrt")
    frame = run(model, **{"in": (tokens_column(["hello"], ["hello", "there", "{make}", "qqq"], ["qqq"]), TOKENS)})
    values = frame.get("out", "t")
    np.testing.assert_allclose(values[0], expected_hello, atol=1e-6)
    np.testing.assert_allclose(values[1], expected_sentence, atol=1e-6)
    assert np.isnan(values[2]).all()  # only unknown words: 0/0, as MLeap
    total = np.array(hello) + np.array(there) + np.array(make)
    np.testing.assert_allclose(values[1], total / np.sqrt(total @ total), rtol=1e-15)


def test_word_to_vector_bad_attributes(tmp_path):
    with pytest.raises(BundleError, match="attribute kernel: 'mean' is not one of default, sqrt"):
        word2vec(tmp_path, ["a"], [[1.0]], kernel="mean")
    with pytest.raises(BundleError, match=r"attribute indices: index 2 has no vector \(2 vectors of size 1\)"):
        word2vec(tmp_path / "i", ["a", "b"], [[1.0], [2.0]], indices=[0, 2])


# -- bundles the mleap package writes from scikit-learn --------------------------------------------------------

DOCS = ["The cat sat on the mat.", "The dog sat down", "A cat and a dog, and a bird", "bird bird bird"]


def mleap_bundle(step_factory):
    import mleap.sklearn.feature_extraction.text  # noqa: F401  (patches CountVectorizer / TfidfVectorizer)
    import mleap.sklearn.pipeline  # noqa: F401

    folder = tempfile.mkdtemp(prefix="mleap-text-")
    step_factory(folder)
    return load_bundle(os.path.join(folder, "bundle"))


def test_sklearn_tfidf_vectorizer_scores_counts_times_idf(tmp_path):
    """TfidfVectorizer → pipeline(count_vectorizer → idf). MLeap scores ``count * idf`` on tokens it is
    given: with ``norm=None`` that is sklearn's result exactly; sklearn's default L2 norm and its
    tokenization are not part of the bundle."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(norm=None).fit(DOCS)

    def write(folder):
        vectorizer.mlinit(input_features="tokens", prediction_column="tfidf")
        vectorizer.serialize_to_bundle(folder, "bundle")

    model = mleap_bundle(write)
    assert [op.op for op in model.ops] == ["pipeline", "count_vectorizer", "idf"]
    analyzer = vectorizer.build_analyzer()
    frame = run(model, tokens=(tokens_column(*[analyzer(d) for d in DOCS]), TOKENS))
    np.testing.assert_array_equal(frame.get("tfidf", "t"), vectorizer.transform(DOCS).toarray())
    normalized = TfidfVectorizer().fit(DOCS).transform(DOCS).toarray()
    assert not np.allclose(frame.get("tfidf", "t"), normalized)  # no L2 normalization in MLeap


def test_sklearn_count_vectorizer_becomes_a_whitespace_tokenizer(tmp_path):
    """CountVectorizer is written as MLeap's ``tokenizer`` (model.json without attributes): it scores
    as MLeap's tokenizer, not as sklearn's counting."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.pipeline import Pipeline

    def write(folder):
        vectorizer = CountVectorizer().fit(DOCS)
        vectorizer.mlinit(input_features="text", prediction_column="tokens")
        pipeline = Pipeline([(vectorizer.name, vectorizer)])
        pipeline.mlinit()
        pipeline.serialize_to_bundle(folder, "bundle", init=True)

    model = mleap_bundle(write)
    assert [op.op for op in model.ops] == ["pipeline", "tokenizer"]
    frame = run(model, text=(np.array(DOCS[:3], dtype=object), TEXT))
    assert out(frame, "tokens") == [
        ["the", "cat", "sat", "on", "the", "mat."],
        ["the", "dog", "sat", "down"],
        ["a", "cat", "and", "a", "dog,", "and", "a", "bird"],
    ]

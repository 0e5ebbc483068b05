"""The Python module against the CLI (an independent path through the same
engine) and against what sentence-transformers' encode() promises: shapes,
dtype, normalisation, single texts. Run by ctest (`python_module`) with
Debian's python3 and numpy."""
import json
import os
import subprocess
import tempfile
import unittest

import numpy as np

import quantpipe

TEXTS = ["the cat sat on the mat", "a dog ran in the park", "hello world"]


def cli(*args, stdin=""):
    binary = os.environ["QUANTPIPE_BINARY"]
    done = subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, check=True)
    return done.stdout


class ModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.encoder_dir = os.path.join(cls.tmp.name, "st")
        cls.classifier_dir = os.path.join(cls.tmp.name, "cls")
        quantpipe._write_tiny_bert(cls.encoder_dir, sentence_transformer=True)
        quantpipe._write_tiny_bert(cls.classifier_dir, num_labels=3)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_encode_matches_the_cli(self):
        model = quantpipe.Model(self.encoder_dir, threads=1)
        vectors = model.encode(TEXTS)
        self.assertIsInstance(vectors, np.ndarray)
        self.assertEqual(vectors.dtype, np.float32)
        self.assertEqual(vectors.shape, (3, model.info["hidden_size"]))
        lines = cli("embed", "--model", self.encoder_dir, "--threads", "1", stdin="\n".join(TEXTS) + "\n")
        expected = np.array([json.loads(line)["embedding"] for line in lines.splitlines()], dtype=np.float32)
        np.testing.assert_allclose(vectors, expected, rtol=0, atol=1e-6)
        # The tiny sentence-transformers model normalises (it has a Normalize module).
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    def test_single_text_gives_one_vector_and_normalize_embeddings(self):
        model = quantpipe.Model(self.classifier_dir, threads=1)  # mean pooling, not normalised
        one = model.encode("hello world")
        self.assertEqual(one.shape, (model.info["hidden_size"],))
        many = model.encode(["hello world"])
        np.testing.assert_allclose(one, many[0])
        self.assertGreater(abs(np.linalg.norm(many[0]) - 1.0), 1e-3)
        unit = model.encode(["hello world"], normalize_embeddings=True)
        self.assertAlmostEqual(float(np.linalg.norm(unit[0])), 1.0, places=5)
        np.testing.assert_allclose(unit[0], many[0] / np.linalg.norm(many[0]), atol=1e-6)
        self.assertEqual(model.encode([]).shape[0], 0)

    def test_classify_texts_and_pairs_match_the_cli(self):
        model = quantpipe.Model(self.classifier_dir, threads=1)
        self.assertEqual(model.labels, ["LABEL_0", "LABEL_1", "LABEL_2"])
        results = model.classify(["the cat sat", ("a premise", "a hypothesis")])
        self.assertEqual(len(results), 2)
        stdin = json.dumps({"text": "the cat sat"}) + "\n" + json.dumps({"text": "a premise", "text_pair": "a hypothesis"}) + "\n"
        expected = [json.loads(line) for line in cli("classify", "--model", self.classifier_dir, "--threads", "1", stdin=stdin).splitlines()]
        for got, want in zip(results, expected):
            self.assertEqual(got["label"], want["label"])
            np.testing.assert_allclose(got["logits"], want["logits"], atol=1e-6)
            self.assertAlmostEqual(sum(got["scores"].values()), 1.0, places=5)
            self.assertEqual(got["score"], max(got["scores"].values()))

    def test_convert_and_load_the_quantized_model(self):
        out = os.path.join(self.tmp.name, "q8")
        report = quantpipe.convert(self.encoder_dir, out, scheme="q8_sym_ch")
        self.assertEqual(report["format_version"], 1)
        self.assertGreater(report["sizes"]["compression_ratio"], 1.0)
        fp32 = quantpipe.Model(self.encoder_dir, threads=1).encode(TEXTS)
        q8 = quantpipe.Model(out, threads=1)
        self.assertEqual(q8.info["weight_format"], "q8_sym_ch")
        cosine = np.sum(fp32 * q8.encode(TEXTS), axis=1)
        self.assertTrue(np.all(cosine > 0.99), cosine)

    def test_hub_id_loads_from_the_hugging_face_cache_offline(self):
        # The huggingface_hub cache layout, made by hand: blobs, a snapshot of links, refs/main.
        cache = os.path.join(self.tmp.name, "hub")
        repo = os.path.join(cache, "models--tiny-org--tiny-st")
        sha = "0123456789abcdef0123456789abcdef01234567"
        snapshot = os.path.join(repo, "snapshots", sha)
        for root, _, files in os.walk(self.encoder_dir):
            for name in files:
                rel = os.path.relpath(os.path.join(root, name), self.encoder_dir)
                blob = os.path.join(repo, "blobs", rel.replace(os.sep, "_"))
                os.makedirs(os.path.dirname(blob), exist_ok=True)
                with open(os.path.join(root, name), "rb") as src, open(blob, "wb") as dst:
                    dst.write(src.read())
                link = os.path.join(snapshot, rel)
                os.makedirs(os.path.dirname(link), exist_ok=True)
                os.symlink(os.path.relpath(blob, os.path.dirname(link)), link)
        os.makedirs(os.path.join(repo, "refs"))
        with open(os.path.join(repo, "refs", "main"), "w") as f:
            f.write(sha)
        saved = {k: os.environ.get(k) for k in ("HF_HUB_CACHE", "HF_HUB_OFFLINE")}
        os.environ.update(HF_HUB_CACHE=cache, HF_HUB_OFFLINE="1")
        try:
            from_hub = quantpipe.Model("tiny-org/tiny-st", threads=1).encode(TEXTS)
            with self.assertRaises(quantpipe.Error) as caught:
                quantpipe.Model("tiny-org/not-cached", threads=1)
            self.assertIn("tiny-org/not-cached", str(caught.exception))
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        np.testing.assert_array_equal(from_hub, quantpipe.Model(self.encoder_dir, threads=1).encode(TEXTS))

    def test_errors_name_the_file(self):
        with self.assertRaises(quantpipe.Error) as caught:
            quantpipe.Model(os.path.join(self.tmp.name, "missing"))
        self.assertIn("missing", str(caught.exception))
        self.assertTrue(issubclass(quantpipe.Error, RuntimeError))
        with self.assertRaises(quantpipe.Error) as caught:
            quantpipe.convert(self.encoder_dir, os.path.join(self.tmp.name, "bad"), scheme="q9_affine_g64")
        self.assertIn("q9_affine_g64", str(caught.exception))


if __name__ == "__main__":
    unittest.main()

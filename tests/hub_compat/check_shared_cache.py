"""quantpipe and huggingface_hub share one cache, checked against the real
huggingface_hub (PyPI) pointed at the fake hub (fake_hub_server, 127.0.0.1):

1. a model quantpipe downloaded is found by huggingface_hub offline
   (snapshot_download / hf_hub_download with local_files_only=True), same
   snapshot directory, same bytes;
2. a model huggingface_hub downloaded is used by quantpipe offline
   (HF_HUB_OFFLINE=1): `download` prints the same snapshot and `embed` gives
   the same output as on the original directory;
3. one cache filled by both: huggingface_hub fetches one file, quantpipe the
   rest, and huggingface_hub then finds the whole snapshot offline.

Usage: check_shared_cache.py QUANTPIPE FAKE_HUB_SERVER
Exit 0 when every check passes; each failure is printed.
"""
import filecmp
import os
import subprocess
import sys
import tempfile

REPO = "tiny-org/tiny-st"
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def env_for(hf_home, endpoint, offline=False):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=hf_home, HF_ENDPOINT=endpoint, no_proxy="127.0.0.1", NO_PROXY="127.0.0.1",
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_XET="1")
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    return env


def run_hf(code, env):
    """Runs huggingface_hub in a child, so each case sees its own environment."""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr)
    return out.returncode, out.stdout.strip()


def run_qp(quantpipe, args, env, stdin=None):
    out = subprocess.run([quantpipe] + args, env=env, capture_output=True, text=True, input=stdin)
    if out.returncode != 0:
        print(out.stderr)
    return out.returncode, out.stdout


def listing(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def same_bytes(snapshot, original):
    """Every file of the snapshot (quantpipe fetches what a conversion needs) equals the original's."""
    names = listing(snapshot)
    return "config.json" in names and "model.safetensors" in names and all(
        filecmp.cmp(os.path.join(snapshot, n), os.path.join(original, n), shallow=False) for n in names)


def main():
    quantpipe, server = sys.argv[1:3]
    model_tmp = tempfile.TemporaryDirectory()
    model_dir = os.path.join(model_tmp.name, "tiny-st")
    subprocess.run([server, "--write-tiny-st", model_dir], check=True)
    hub = subprocess.Popen([server, REPO, model_dir], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    endpoint = hub.stdout.readline().strip()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            # 1. quantpipe downloads, huggingface_hub finds it offline.
            a = os.path.join(tmp, "a")
            rc, out = run_qp(quantpipe, ["download", REPO], env_for(a, endpoint))
            check(rc == 0, "quantpipe download into an empty cache")
            qp_snapshot = out.strip()
            rc, hf_snapshot = run_hf(
                "from huggingface_hub import snapshot_download; "
                f"print(snapshot_download('{REPO}', local_files_only=True))", env_for(a, endpoint, offline=True))
            check(rc == 0 and hf_snapshot == qp_snapshot,
                  f"huggingface_hub snapshot_download(local_files_only) finds quantpipe's snapshot "
                  f"({hf_snapshot} vs {qp_snapshot})")
            rc, config = run_hf(
                "from huggingface_hub import hf_hub_download; "
                f"print(hf_hub_download('{REPO}', 'config.json', local_files_only=True))",
                env_for(a, endpoint, offline=True))
            check(rc == 0 and config == os.path.join(qp_snapshot, "config.json"),
                  "huggingface_hub hf_hub_download(local_files_only) finds config.json")
            check(same_bytes(qp_snapshot, model_dir), "quantpipe's snapshot holds the repo's bytes")

            # 2. huggingface_hub downloads, quantpipe uses it offline.
            b = os.path.join(tmp, "b")
            rc, hf_snapshot = run_hf(
                f"from huggingface_hub import snapshot_download; print(snapshot_download('{REPO}'))",
                env_for(b, endpoint))
            check(rc == 0, "huggingface_hub snapshot_download from the fake hub")
            rc, out = run_qp(quantpipe, ["download", REPO], env_for(b, "http://127.0.0.1:9", offline=True))
            check(rc == 0 and out.strip() == hf_snapshot,
                  f"quantpipe download offline finds huggingface_hub's snapshot ({out.strip()} vs {hf_snapshot})")
            texts = "the cat sat on the mat\nhello world\n"
            rc, offline_embed = run_qp(quantpipe, ["embed", "-q", "--model", REPO],
                                       env_for(b, "http://127.0.0.1:9", offline=True), stdin=texts)
            rc2, local_embed = run_qp(quantpipe, ["embed", "-q", "--model", model_dir], env_for(b, endpoint),
                                      stdin=texts)
            blobs_a = set(os.listdir(os.path.join(a, "hub", "models--tiny-org--tiny-st", "blobs")))
            blobs_b = set(os.listdir(os.path.join(b, "hub", "models--tiny-org--tiny-st", "blobs")))
            check(bool(blobs_a) and blobs_a <= blobs_b, "quantpipe names blobs as huggingface_hub does (by etag)")
            check(rc == 0 and rc2 == 0 and offline_embed == local_embed and offline_embed.count("\n") == 2,
                  "quantpipe embed offline on huggingface_hub's snapshot equals embed on the original directory")

            # 3. Both fill one cache.
            c = os.path.join(tmp, "c")
            rc, _ = run_hf(f"from huggingface_hub import hf_hub_download; hf_hub_download('{REPO}', 'config.json')",
                           env_for(c, endpoint))
            check(rc == 0, "huggingface_hub fetches config.json alone")
            rc, out = run_qp(quantpipe, ["download", REPO], env_for(c, endpoint))
            check(rc == 0, "quantpipe fetches the rest into the same cache")
            rc, hf_snapshot = run_hf(
                "from huggingface_hub import snapshot_download; "
                f"print(snapshot_download('{REPO}', local_files_only=True))", env_for(c, endpoint, offline=True))
            check(rc == 0 and hf_snapshot == out.strip() and same_bytes(hf_snapshot, model_dir),
                  "huggingface_hub then finds the whole snapshot offline")
    finally:
        hub.stdin.close()
        hub.wait()
        model_tmp.cleanup()
    import huggingface_hub

    print(f"\nhuggingface_hub {huggingface_hub.__version__}: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

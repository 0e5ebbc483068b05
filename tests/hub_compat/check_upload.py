"""quantpipe's uploads and the fake hub's upload endpoints, checked against the
real huggingface_hub (PyPI) pointed at the fake hub (fake_hub_server, 127.0.0.1):

1. huggingface_hub's own create_repo + upload_folder commits a converted
   model to the fake hub (preupload, LFS batch, PUT, verify, NDJSON commit as
   the official client speaks them), and snapshot_download gets the same bytes
   back: the fake hub's protocol is the one huggingface_hub expects;
2. a model `quantpipe upload` committed is downloaded by huggingface_hub
   with every file byte-identical, and huggingface_hub's own model card
   parser reads the card's metadata (base_model, library_name, tags).

Usage: check_upload.py QUANTPIPE FAKE_HUB_SERVER
Exit 0 when every check passes; each failure is printed.
"""
import filecmp
import os
import subprocess
import sys
import tempfile

REPO = "tiny-org/tiny-st"
TOKEN = "hf_fake_token"  # FakeHub::kToken
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def env_for(hf_home, endpoint, token=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=hf_home, HF_ENDPOINT=endpoint, no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost",
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_XET="1")
    if token:
        env["HF_TOKEN"] = TOKEN
    return env


def run(args, env, stdin=None):
    out = subprocess.run(args, env=env, capture_output=True, text=True, input=stdin)
    if out.returncode != 0:
        print(out.stderr)
    return out.returncode, out.stdout.strip()


def files_of(root, skip=()):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
                  if os.path.relpath(os.path.join(d, f), root) not in skip and not f.startswith("."))


def same_files(snapshot, original, skip=()):
    names = files_of(original, skip)
    return names == files_of(snapshot, skip) and all(
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
            home = os.path.join(tmp, "hf")
            q8 = os.path.join(tmp, "q8")
            rc, _ = run([quantpipe, "convert", "-q", "-m", REPO, "-o", q8, "--bits", "8", "--scheme", "sym",
                         "--per-channel"], env_for(home, endpoint))
            check(rc == 0, "quantpipe convert of the fake hub's model")

            # 1. huggingface_hub uploads to the fake hub and downloads it back.
            code = ("from huggingface_hub import HfApi, snapshot_download; api = HfApi(); "
                    "api.create_repo('me/hf-up', exist_ok=True); "
                    f"info = api.upload_folder(repo_id='me/hf-up', folder_path={q8!r}, commit_message='hf upload'); "
                    "print(snapshot_download('me/hf-up'))")
            rc, out = run([sys.executable, "-c", code], env_for(home, endpoint))
            snapshot = out.splitlines()[-1] if out else ""
            check(rc == 0, "huggingface_hub create_repo + upload_folder to the fake hub")
            check(rc == 0 and same_files(snapshot, q8),
                  "huggingface_hub snapshot_download gets back what upload_folder sent, byte for byte")

            # 2. quantpipe uploads, huggingface_hub downloads and reads the card.
            rc, out = run([quantpipe, "upload", q8, "me/qp-up"], env_for(home, endpoint))
            check(rc == 0 and out.startswith("commit: "), f"quantpipe upload ({out!r})")
            code = ("from huggingface_hub import snapshot_download, ModelCard; import os; "
                    "d = snapshot_download('me/qp-up'); print(d); "
                    "card = ModelCard.load(os.path.join(d, 'README.md')); m = card.data.to_dict(); "
                    "print(m.get('base_model')); print(m.get('library_name')); print(','.join(m.get('tags', [])))")
            rc, out = run([sys.executable, "-c", code], env_for(home, endpoint))
            lines = out.splitlines()
            check(rc == 0 and len(lines) >= 4, "huggingface_hub snapshot_download of quantpipe's upload")
            if len(lines) >= 4:
                snapshot, base_model, library, tags = lines[-4:]
                check(same_files(snapshot, q8, skip=("README.md",)),
                      "every file quantpipe uploaded comes back byte for byte")
                check(base_model == REPO, f"ModelCard reads base_model ({base_model})")
                check(library == "quantpipe", f"ModelCard reads library_name ({library})")
                check({"quantpipe", "quantized", "8-bit", "q8_sym_ch"} <= set(tags.split(",")),
                      f"ModelCard reads the tags ({tags})")
    finally:
        hub.stdin.close()
        hub.wait()
        model_tmp.cleanup()
    import huggingface_hub

    print(f"\nhuggingface_hub {huggingface_hub.__version__}: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

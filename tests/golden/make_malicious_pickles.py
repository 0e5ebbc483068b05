#!/usr/bin/python3
"""Writes pytorch_model.bin-shaped zips whose pickles try to run code, with plain Python pickle.

Each payload, if executed, creates the marker file /tmp/quantpipe-pickle-payload-ran. This script
first proves every payload is live: Python's own pickle.loads runs it and the marker appears. The
C++ tests (tests/unit/torch_checkpoint_test.cpp) then load each file and must refuse it, naming
the global or opcode, with no marker created.

tests/golden/torch_bin/malicious/
  os_system.bin         os.system (pickle writes it as posix.system) called at the top
  builtins_eval.bin     builtins.eval of Python source
  subprocess_popen.bin  subprocess.Popen
  nested_reduce.bin     a state dict that looks like torch's, with builtins.exec reduced deep
                        inside a tensor's size tuple
  os_system_v0.bin      the classic hand-written protocol-0 exploit: GLOBAL 'os system'
  inst_opcode.bin       the INST opcode (calls a class without REDUCE)
  call_storage.bin      an allowed name used wrongly: torch.FloatStorage called with REDUCE
  nested_parameter.bin  _rebuild_parameter of _rebuild_parameter (nesting a reader could
                        recurse into until its stack overflows)

Torch itself is not needed: the torch globals in nested_reduce / call_storage are stand-ins
registered under torch's module names so pickle writes the same GLOBAL lines torch.save does.

Usage: /usr/bin/python3 tests/golden/make_malicious_pickles.py
"""
import collections
import io
import os
import pickle
import subprocess
import sys
import types
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "torch_bin", "malicious")
MARKER = "/tmp/quantpipe-pickle-payload-ran"


class Call:
    """Pickles as `func(*args)`: the REDUCE every pickle exploit uses."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def fake_torch():
    """Stand-ins under torch's names (never called here), so pickle writes torch's GLOBALs."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("stand-in")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    def _rebuild_parameter(*args):
        raise AssertionError("stand-in")

    _rebuild_parameter.__module__ = "torch._utils"
    _rebuild_parameter.__qualname__ = "_rebuild_parameter"
    utils._rebuild_parameter = _rebuild_parameter
    FloatStorage = type("FloatStorage", (), {"__module__": "torch", "__qualname__": "FloatStorage"})
    torch.FloatStorage, torch._utils = FloatStorage, utils
    sys.modules.update({"torch": torch, "torch._utils": utils})
    return torch


class StoragePickler(pickle.Pickler):
    """Writes a storage the way torch.save does: as a persistent id tuple."""

    def persistent_id(self, obj):
        if isinstance(obj, StorageRef):
            return ("storage", obj.storage_type, "0", "cpu", 2)
        return None


class StorageRef:
    def __init__(self, storage_type):
        self.storage_type = storage_type


def pickle_bytes(obj):
    buf = io.BytesIO()
    StoragePickler(buf, protocol=2, fix_imports=False).dump(obj)  # Python 3 module names
    return buf.getvalue()


def inst_pickle(command):
    """MARK, the command as BINUNICODE, then INST 'os system': a call without GLOBAL or REDUCE."""
    text = command.encode()
    return b"\x80\x02(X" + len(text).to_bytes(4, "little") + text + b"ios\nsystem\n."


def payloads():
    torch = fake_torch()
    storage = StorageRef(torch.FloatStorage)
    rebuild = torch._utils._rebuild_tensor_v2
    evil_size = Call(exec, f"open({MARKER!r}, 'w').close()")
    nested = collections.OrderedDict(
        weight=Call(rebuild, storage, 0, (2, evil_size), (1,), False, collections.OrderedDict()))
    return {
        "os_system.bin": pickle_bytes(Call(os.system, f"touch {MARKER}")),
        "builtins_eval.bin": pickle_bytes(Call(eval, f"open({MARKER!r}, 'w').close()")),
        "subprocess_popen.bin": pickle_bytes(Call(subprocess.Popen, ["touch", MARKER])),
        "nested_reduce.bin": pickle_bytes(nested),
        "os_system_v0.bin": f"cos\nsystem\n(S'touch {MARKER}'\ntR.".encode(),
        "inst_opcode.bin": inst_pickle(f"touch {MARKER}"),
        "call_storage.bin": pickle_bytes(Call(torch.FloatStorage, 2)),
        "nested_parameter.bin": pickle_bytes(collections.OrderedDict(p=Call(
            torch._utils._rebuild_parameter,
            Call(torch._utils._rebuild_parameter, Call(rebuild, storage, 0, (2,), (1,)), False, {}), False, {}))),
    }


class PermissiveUnpickler(pickle.Unpickler):
    """Python's unpickler with a persistent_load, to show the payloads really run."""

    def persistent_load(self, pid):
        return None


def prove_live(name, data):
    if name in ("call_storage.bin", "nested_parameter.bin"):
        return  # refused for its shape, not its payload
    if os.path.exists(MARKER):
        os.remove(MARKER)
    try:
        result = PermissiveUnpickler(io.BytesIO(data)).load()
        if isinstance(result, subprocess.Popen):
            result.wait()
    except Exception:
        pass  # the payload runs before the stand-in rebuild function fails
    if not os.path.exists(MARKER):
        sys.exit(f"{name}: the payload did not run under pickle.loads, so it proves nothing")
    os.remove(MARKER)


def write_zip(path, data):
    """The layout torch.save writes: <archive>/data.pkl, <archive>/version, <archive>/data/<key>."""
    archive = "pytorch_model"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for name, body in ((f"{archive}/data.pkl", data), (f"{archive}/data/0", bytes(8)),
                           (f"{archive}/version", b"3\n")):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, body)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in payloads().items():
        prove_live(name, data)
        write_zip(os.path.join(OUT, name), data)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

"""The local model registry, shared by the azureml and mlflow stand-ins.

Run.register_model, Model.register and mlflow.register_model write it; Model.get_model_path,
mlflow's models:/ URIs and the job spec's `models: {x: azureml:<name>:<version>}` read it.

<registry>/<name>/<version>/ holds the model as Azure ML lays it out under AZUREML_MODEL_DIR: a
registered file as that file, a registered folder as that folder (<version>/model/MLmodel), and
<registry>/<name>/<version>.json what was registered (the path inside, tags, properties). A version
folder put there by hand, without its record, counts too (the batch deployment's loader reads the
same layout). The registry is PRS_MODEL_REGISTRY (the leader sets it: models/ in the data folder,
PRS_DATA_DIR).
"""

import datetime
import json
import os
import shutil


class ModelNotFoundError(Exception):
    pass


def root():
    given = os.environ.get("PRS_MODEL_REGISTRY")
    if given:
        return given
    # As the engine's dataDir(): PRS_DATA_DIR, else the platform's application data folder.
    data = os.environ.get("PRS_DATA_DIR")
    if not data:
        home = os.path.expanduser("~")
        if os.name == "nt":
            data = os.path.join(os.environ.get("APPDATA") or os.path.join(home, "AppData", "Roaming"), "parallel-run-studio")
        elif os.uname().sysname == "Darwin":
            data = os.path.join(home, "Library", "Application Support", "parallel-run-studio")
        else:
            data = os.path.join(os.environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share"), "parallel-run-studio")
    return os.path.join(data, "models")


def versions(name):
    folder = os.path.join(root(), name)
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    return sorted(int(e) for e in entries if e.isdigit() and os.path.isdir(os.path.join(folder, e)))


def _inside(version_dir, record):
    """The registered file or folder in a version folder: its record says; else its one entry."""
    if os.path.isfile(record):
        with open(record, "r", encoding="utf-8") as f:
            return os.path.join(version_dir, json.load(f).get("path", ""))
    entries = os.listdir(version_dir)
    return os.path.join(version_dir, entries[0]) if len(entries) == 1 else version_dir


def find(name, version=None, caller="Model.get_model_path"):
    """The registered model's path (its file when one file was registered), or ModelNotFoundError."""
    known = versions(name)
    wanted = known[-1] if version is None and known else (int(version) if str(version).isdigit() else None)
    if wanted is None or wanted not in known:
        raise ModelNotFoundError(
            "%s: no model %r%s in the local model registry %s (registered: %s; expected a model registered "
            "with Run.register_model or Model.register, or a path in the job spec's models)"
            % (
                caller,
                name,
                "" if version is None else " version %s" % version,
                root(),
                ", ".join("%s:%d" % (name, v) for v in known) or "none of that name",
            )
        )
    return _inside(os.path.join(root(), name, str(wanted)), os.path.join(root(), name, "%d.json" % wanted))


def register(name, source, tags=None, properties=None, description=None, run_id=None):
    """Copies `source` (a file or folder) in as the next version of `name`; returns (version, path)."""
    if not os.path.exists(source):
        raise ModelNotFoundError("register_model(%r): %s does not exist (expected a model file or folder)" % (name, source))
    folder = os.path.join(root(), name)
    os.makedirs(folder, exist_ok=True)
    # Versions are taken by creating their folder: two workers registering at once get two versions.
    version = (versions(name) or [0])[-1] + 1
    while True:
        target = os.path.join(folder, str(version))
        try:
            os.mkdir(target)
            break
        except FileExistsError:
            version += 1
    inside = os.path.basename(os.path.normpath(source))
    if os.path.isdir(source):
        shutil.copytree(source, os.path.join(target, inside))
    else:
        shutil.copy2(source, os.path.join(target, inside))
    meta = {
        "name": name,
        "version": version,
        "path": inside,
        "source": os.path.abspath(source),
        "tags": dict(tags or {}),
        "properties": dict(properties or {}),
        "description": description,
        "run_id": run_id,
        "registered_at": datetime.datetime.utcnow().isoformat() + "Z",
    }
    tmp = os.path.join(folder, "%d.json.tmp" % version)
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
    os.replace(tmp, os.path.join(folder, "%d.json" % version))
    return version, os.path.join(target, inside)

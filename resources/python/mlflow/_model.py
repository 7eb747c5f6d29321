"""MLflow model folders: the MLmodel file, model URIs, and why a model cannot load, in one line."""

import os
import re
import sys

from .exceptions import MlflowException

MLMODEL = "MLmodel"


def local_path(model_uri, caller):
    """The folder a model URI names: a path, file://, or models:/<name>/<version|latest> (the local registry)."""
    uri = str(model_uri)
    if uri.startswith("file://"):
        uri = uri[len("file://"):]
    elif uri.startswith("models:/"):
        import prs_model_registry as _registry

        parts = uri[len("models:/"):].strip("/").split("/")
        name, version = parts[0], parts[1] if len(parts) > 1 else None
        if version is not None and version.lower() == "latest":
            version = None
        return _registry.find(name, version, caller="%s(%r)" % (caller, model_uri))
    elif "://" in uri or uri.startswith("runs:/"):
        raise MlflowException(
            "%s(%r): %s URIs have no local equivalent (expected a model folder path or models:/<name>/<version>)"
            % (caller, model_uri, uri.split(":", 1)[0])
        )
    return os.path.abspath(uri)


def read_mlmodel(folder, caller):
    """The MLmodel file of a model folder, as a dict."""
    path = os.path.join(folder, MLMODEL)
    if not os.path.isfile(path):
        what = "does not exist" if not os.path.exists(folder) else "has no MLmodel file"
        raise MlflowException(
            "%s(%r): %s %s (expected an MLflow model folder: an MLmodel file beside the model)"
            % (caller, folder, folder, what)
        )
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()
    try:
        import yaml

        doc = yaml.safe_load(text)
    except ImportError:
        doc = _read_simple_yaml(text)
    except Exception as exc:
        raise MlflowException("%s: not valid YAML (%s)" % (path, str(exc).replace("\n", " "))) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("flavors"), dict):
        raise MlflowException("%s: no flavors mapping (expected an MLmodel file with flavors:)" % path)
    return doc


def flavor(doc, folder, name, caller, hint):
    flavors = doc["flavors"]
    conf = flavors.get(name)
    if not isinstance(conf, dict):
        raise MlflowException(
            "%s(%r): the model's MLmodel has no %s flavor (it has: %s)%s"
            % (caller, folder, name, ", ".join(sorted(flavors)) or "none", hint)
        )
    return conf


def write_mlmodel(folder, doc):
    lines = []
    _dump(doc, 0, lines)
    with open(os.path.join(folder, MLMODEL), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def _dump(value, indent, lines):
    pad = "  " * indent
    for key, v in value.items():
        if isinstance(v, dict):
            lines.append("%s%s:" % (pad, key))
            _dump(v, indent + 1, lines)
        else:
            lines.append("%s%s: %s" % (pad, key, _scalar(v)))


def _scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    text = str(v)
    # Plain where YAML reads it back as the same text (as MLflow writes MLmodel), quoted otherwise.
    if _PLAIN.match(text) and text.lower() not in ("true", "false", "null", "yes", "no", "on", "off", "~"):
        return text
    return "'%s'" % text.replace("'", "''")


# A name (mlflow.sklearn, model.pkl) or a version with two dots at least (1.2.1, not the float 1.2).
_PLAIN = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_.\-/]*|\d+(?:\.\d+){2,})$")


def _read_simple_yaml(text):
    """The nested mappings of scalars an MLmodel file holds, for an interpreter without PyYAML."""
    root = {}
    stack = [(-1, root)]
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#") or raw.lstrip().startswith("- "):
            continue
        indent = len(raw) - len(raw.lstrip())
        key, _, rest = raw.strip().partition(":")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        rest = rest.strip()
        if rest == "":
            parent[key] = {}
            stack.append((indent, parent[key]))
        else:
            if len(rest) >= 2 and rest[0] == rest[-1] and rest[0] in "'\"":
                rest = rest[1:-1]
            parent[key] = None if rest in ("null", "~") else rest
    return root


def installed_version(module):
    try:
        mod = __import__(module)
        return getattr(mod, "__version__", "?")
    except Exception:
        return None


def unpickle(path, serialization_format, conf, doc, caller, library, library_key):
    """Loads a pickled model; a failure says why in one line (a missing module, a version drift)."""
    if not os.path.isfile(path):
        raise MlflowException("%s: %s is missing (the MLmodel file names it)" % (caller, path))
    try:
        if serialization_format == "cloudpickle":
            try:
                import cloudpickle as loader
            except ImportError:
                # A cloudpickle file is a pickle; only what cloudpickle itself made needs it to load.
                import pickle as loader
        else:
            import pickle as loader
        with open(path, "rb") as f:
            return loader.load(f)
    except (ImportError, AttributeError, TypeError, ValueError, EOFError) as exc:
        missing = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
        if missing and missing.split(".")[0] == "cloudpickle":
            raise MlflowException(
                "%s: %s (serialization_format: cloudpickle) needs the cloudpickle package, which %s lacks "
                "(pip install cloudpickle, or save the model with serialization_format='pickle')"
                % (caller, path, sys.executable)
            ) from None
        saved = conf.get(library_key)
        here = installed_version(library.split(".")[0].replace("scikit-learn", "sklearn"))
        python_saved = (doc.get("flavors", {}).get("python_function") or {}).get("python_version")
        versions = "saved with %s %s%s (MLmodel); this interpreter has %s %s, Python %s" % (
            library,
            saved or "(version not recorded)",
            ", Python %s" % python_saved if python_saved else "",
            library,
            here or "(not installed)",
            "%d.%d.%d" % sys.version_info[:3],
        )
        if missing:
            what = "names module %s, which this interpreter's library lacks" % missing
        else:
            what = "cannot be unpickled (%s: %s)" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        raise MlflowException(
            "%s: %s %s: the model was %s. Re-save the model with this version, or run the job with an "
            "interpreter that has %s %s (the spec's python)."
            % (caller, path, what, versions, library, saved or "of the model")
        ) from None

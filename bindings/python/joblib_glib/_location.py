# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where a Memory's cache lives: a local folder, or any location GIO can
write (``sftp://``, ``smb://``, ``dav://`` through GVfs) given as a URI
string or a Gio.File.

Local folders keep their plain-path code in _memory (system calls, memory
maps); this module answers the few questions _memory asks of a remote
location through GIO: whether others can write it, where an entry is,
its metadata, and removing it.  Every function here is blocking (GVfs
round trips) and thread-safe: the only state is cache_problem's table of
recent answers, under a lock."""

import json
import os
import re
import threading
import time

from ._gi import Gio, GLib

# "scheme://..." as RFC 3986 spells a scheme: anything else is a path
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def parse(location):
    """``(path, gfile)`` for a Memory location other than None: a local
    folder gives ``(its path, None)``, a remote one ``(None, its Gio.File)``.
    ValueError for a URI that GIO cannot open here, TypeError for a value
    that is no location."""
    if isinstance(location, Gio.File):
        gfile = location
    elif isinstance(location, str) and _URI.match(location):
        gfile = _file_for_uri(location)
    else:
        path = os.fspath(location)  # TypeError for what is no path
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        return path, None
    # file:// URIs, and GVfs locations seen through a local path (FUSE)
    # are remote only when GIO says they are not native
    if gfile.is_native():
        path = gfile.get_path()
        if path is not None:
            return path, None
    return None, gfile


def _file_for_uri(uri):
    try:
        parsed = GLib.Uri.parse(uri, GLib.UriFlags.NONE)
    except GLib.Error as error:
        raise ValueError(f"Memory location {uri!r} is not a valid URI: {error.message}") \
            from None
    scheme = parsed.get_scheme().lower()
    supported = Gio.Vfs.get_default().get_supported_uri_schemes()
    if scheme not in supported:
        hint = ""
        if "sftp" not in supported:
            hint = (" (remote schemes need GVfs: the gvfs-backends package and a D-Bus "
                    "session bus)")
        raise ValueError(f"Memory location {uri!r}: GIO cannot open {scheme}:// locations "
                         f"here; it supports {', '.join(sorted(supported))}{hint}")
    return Gio.File.new_for_uri(uri)


def shown(gfile):
    """The text that names a remote location (its URI)."""
    return gfile.get_uri()


def folder_problem(gfile):
    """Why a remote cache folder is unsafe to unpickle from, or None: its
    group or anyone can write it, or GIO cannot tell (no ``unix::mode``:
    smb, dav).  The owner is not compared: the server's user ids are not
    ours."""
    try:
        info = gfile.query_info("unix::mode", Gio.FileQueryInfoFlags.NONE, None)
    except GLib.Error as error:
        if error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND):
            return None  # nothing stored there: nothing to unpickle either
        return f"{shown(gfile)} cannot be checked ({error.message})"
    if not info.has_attribute("unix::mode"):
        return f"who can write {shown(gfile)} is unknown (its server gives no mode)"
    mode = info.get_attribute_uint32("unix::mode") & 0o7777
    if mode & 0o022 and not (mode & 0o1000 and mode & 0o002):
        who = "anyone" if mode & 0o002 else "its group"
        return f"{shown(gfile)} can be written by {who} (mode {mode:04o})"
    return None


# How long cache_problem's answer for a location is reused: asking costs
# two GVfs round trips, milliseconds on every hit of a pickled output.
RECHECK_SECONDS = 10.0
_answers = {}  # URI -> (time.monotonic() of the answer, problem or None)
_answers_lock = threading.Lock()


def cache_problem(gfile):
    """folder_problem of a remote cache location, else of its
    ``joblib-glib`` folder; an answer is reused for RECHECK_SECONDS."""
    uri = gfile.get_uri()
    now = time.monotonic()
    with _answers_lock:
        answer = _answers.get(uri)
    if answer is not None and now - answer[0] < RECHECK_SECONDS:
        return answer[1]
    problem = folder_problem(gfile) or folder_problem(gfile.get_child("joblib-glib"))
    with _answers_lock:
        _answers[uri] = (now, problem)
    return problem


def _exists(gfile):
    return gfile.query_exists(None)


def find_entry(root, name, hexdigest):
    """The folder of a stored entry under ``root`` (the ``joblib-glib``
    folder): ``root/name/hexdigest``, else the first function folder that
    has that digest; None when there is none."""
    folder = root.get_child(name).get_child(hexdigest)
    if name[:1] not in ("", ".") and "/" not in name and _exists(folder):
        return folder
    try:
        children = root.enumerate_children("standard::name,standard::type",
                                           Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, None)
    except GLib.Error:
        return None
    try:
        for info in children:
            if info.get_file_type() != Gio.FileType.DIRECTORY:
                continue
            folder = root.get_child(info.get_name()).get_child(hexdigest)
            if _exists(folder):
                return folder
    finally:
        children.close(None)
    return None


def has_output(folder):
    return _exists(folder.get_child("output"))


def read_duration(folder):
    """The ``duration`` of an entry's metadata.json, None if unreadable."""
    try:
        ok, data, _etag = folder.get_child("metadata.json").load_contents(None)
        return json.loads(bytes(data).decode("utf-8")).get("duration")
    except (GLib.Error, ValueError, AttributeError):
        return None


def remove_tree(gfile):
    """Remove a folder and what it holds; what cannot be removed stays."""
    try:
        children = gfile.enumerate_children("standard::name,standard::type",
                                            Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, None)
    except GLib.Error:
        children = None
    if children is not None:
        try:
            for info in children:
                child = gfile.get_child(info.get_name())
                if info.get_file_type() == Gio.FileType.DIRECTORY:
                    remove_tree(child)
                else:
                    _delete(child)
        finally:
            children.close(None)
    _delete(gfile)


def _delete(gfile):
    try:
        gfile.delete(None)
    except GLib.Error:
        pass

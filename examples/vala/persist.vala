// SPDX-License-Identifier: LGPL-2.1-or-later
// The joblib tutorial's persistence part in Vala: a structured value
// holding a 1000×100 float64 array dumped with "yield dump_async" under
// several compressions, loaded back (memory-mapped when uncompressed),
// and a corrupt file rejected as Joblib.Error.INVALID_DATA.
// Exits 1 on any mismatch.

async int run (string folder) {
    size_t[] shape = { 1000, 100 };
    var values = new double[1000 * 100];
    for (int i = 0; i < values.length; i++)
        values[i] = Math.sin (i);
    uint8[] raw = (uint8[]) values;
    raw.length = values.length * (int) sizeof (double);

    try {
        var array = new Joblib.Array ("<f8", shape, new Bytes (raw));
        var dict = new VariantDict ();
        dict.insert_value ("name", new Variant.string ("sines"));
        dict.insert_value ("data", array.to_variant ());
        var value = dict.end ();

        foreach (var name in new string[] { "data.job", "data.job.gz", "data.job.zst", "data.job.lz4" }) {
            var file = File.new_for_path (Path.build_filename (folder, name));
            yield Joblib.dump_async (value, file, Joblib.Compression.AUTO, -1);
            var flags = name.has_suffix (".job") ? Joblib.LoadFlags.MMAP : Joblib.LoadFlags.NONE;
            var loaded = yield Joblib.load_async (file, flags, 0);
            var back = new Joblib.Array.from_variant (loaded.lookup_value ("data", null));
            var info = yield file.query_info_async (FileAttribute.STANDARD_SIZE, 0);
            print ("%-13s %8lld bytes, shape %zux%zu, last %g\n", name, info.get_size (),
                   back.get_shape ()[0], back.get_shape ()[1], back.get_double (99999));
            if (!back.equal (array) || !loaded.equal (value))
                return 1;
            file.delete ();
        }

        var bad = File.new_for_path (Path.build_filename (folder, "bad.job"));
        yield bad.replace_contents_async ("not a dump".data, null, false, 0, null, null);
        bool rejected = false;
        try {
            yield Joblib.load_async (bad, Joblib.LoadFlags.NONE, 0);
        } catch (Joblib.Error.INVALID_DATA e) {
            print ("corrupt file: %s\n", e.message);
            rejected = true;
        }
        bad.delete ();
        if (!rejected)
            return 1;
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    return 0;
}

int main () {
    string folder;
    try {
        folder = DirUtils.make_tmp ("joblib-vala-persist-XXXXXX");
    } catch (FileError e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    var loop = new MainLoop ();
    int status = 1;
    run.begin (folder, (obj, res) => {
        status = run.end (res);
        loop.quit ();
    });
    loop.run ();
    DirUtils.remove (folder);
    return status;
}

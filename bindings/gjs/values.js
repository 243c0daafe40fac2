// SPDX-License-Identifier: LGPL-2.1-or-later
//
// JS values ⇄ GLib.Variant, shared by the promise helpers (joblib.js) and
// the GJS worker (worker.js). It needs only GLib, so the worker starts
// without loading the Joblib typelib.
//
// Typed arrays travel as the variant form of a JobArray,
// ("joblib.array", typestr, shape, data) of type (ssatay): the form that
// Joblib.Array.new_from_variant, job_dump and the C and Python sides use.

import GLib from 'gi://GLib';
import System from 'system';

const ARRAY_TAG = 'joblib.array';
const ARRAY_TYPE = '(ssatay)';
const VARIANT_TYPE = new GLib.VariantType('v');
const BYTES_TYPE = new GLib.VariantType('ay');
const SIZE_TYPE = new GLib.VariantType('t');
const ENTRY_TYPE = new GLib.VariantType('{sv}');

// GJS 1.69.1 to 1.72.3, 1.73.x to 1.74.2 and 1.75.x to 1.76.0 keep one
// reference too many to every GLib.Variant that a function returns
// floating (the constructors: new_int64(), new_tuple(), new_from_bytes(),
// and new GLib.Variant(), which calls them), so that no such variant is
// ever freed: a worker returning 16 KiB results grew by 16 MiB every 1000
// tasks (GJS issue 499, fixed in 1.72.4, 1.74.3 and 1.76.1). On those
// versions, and only when a probe sees the leak, ownVariant() drops the
// extra reference of each variant made here.
function versionLeaksVariants(version) {
    return (version >= 16901 && version < 17204) || (version >= 17300 && version < 17403) ||
        (version >= 17500 && version < 17601);
}

// Whether a file mapped into a variant stays mapped once nothing refers
// to it (a control without the variant must be unmapped by then, or
// nothing can be concluded and nothing is dropped).
function probeVariantLeak() {
    const mappedAfter = withVariant => {
        const [fd, path] = GLib.file_open_tmp('joblib-glib-variant-probe-XXXXXX');
        try {
            GLib.close(fd);
            GLib.file_set_contents(path, 'x');
            (() => {
                const bytes = GLib.MappedFile.new(path, false).get_bytes();
                if (withVariant)
                    GLib.Variant.new_from_bytes(BYTES_TYPE, bytes, true);
            })();
        } finally {
            GLib.unlink(path);
        }
        System.gc();
        const [, maps] = GLib.file_get_contents('/proc/self/maps');
        return new TextDecoder().decode(maps).includes(path);
    };
    try {
        return !mappedAfter(false) && mappedAfter(true);
    } catch {
        return false;
    }
}

const LEAKS_VARIANTS = versionLeaksVariants(System.version) && probeVariantLeak();

/** Takes a variant just returned floating by a GLib.Variant constructor
 *  (new_string(), new_tuple(), new_from_bytes()…) and returns it, freed
 *  with its last JS reference whatever the GJS version. Never for
 *  variants from elsewhere (getters, get_child_value(), Joblib). */
export function ownVariant(variant) {
    if (!(variant instanceof GLib.Variant))
        throw new TypeError(`ownVariant() takes a GLib.Variant, not ${variant?.constructor?.name ?? typeof variant}`);
    if (LEAKS_VARIANTS)
        variant.unref();
    return variant;
}

/** The tuple of @children (variants made with ownVariant()). */
export function tupleVariant(children) {
    return ownVariant(GLib.Variant.new_tuple(children));
}

/** `av` of @values (variants). */
export function variantArray(values) {
    return ownVariant(GLib.Variant.new_array(VARIANT_TYPE,
        values.map(v => ownVariant(GLib.Variant.new_variant(v)))));
}

// numpy typestr kind + item size → typed array class. This machine is
// little-endian, so "<" (and "|" for bytes) is the native order.
const TYPED_ARRAYS = [
    ['f8', Float64Array], ['f4', Float32Array],
    ['i4', Int32Array], ['u4', Uint32Array],
    ['i2', Int16Array], ['u2', Uint16Array],
    ['i1', Int8Array], ['u1', Uint8Array],
    ['i8', BigInt64Array], ['u8', BigUint64Array],
];

function typestrOf(typed) {
    for (const [code, klass] of TYPED_ARRAYS) {
        if (typed instanceof klass)
            return (klass.BYTES_PER_ELEMENT === 1 ? '|' : '<') + code;
    }
    return null;
}

function classOf(typestr) {
    if (typestr.length < 3 || !'<|='.includes(typestr[0]))
        return null;
    const entry = TYPED_ARRAYS.find(([code]) => code === typestr.slice(1));
    return entry ? entry[1] : null;
}

/** The shape of a typed array: its `shape` property when it has one
 *  whose product is its length, else [length]. */
function shapeOf(typed) {
    const shape = typed.shape;
    if (Array.isArray(shape) && shape.reduce((a, b) => a * b, 1) === typed.length)
        return shape;
    return [typed.length];
}

/** Wraps a typed array (Float64Array, Int32Array, Uint8Array…) as the
 *  variant form of a JobArray; an optional `shape` property (an array of
 *  sizes whose product is the length) gives it n dimensions. */
export function typedArrayToVariant(typed) {
    const typestr = typestrOf(typed);
    if (typestr === null)
        throw new TypeError(`${typed.constructor.name} has no JobArray element type`);
    const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    return tupleVariant([
        ownVariant(GLib.Variant.new_string(ARRAY_TAG)),
        ownVariant(GLib.Variant.new_string(typestr)),
        ownVariant(GLib.Variant.new_array(SIZE_TYPE,
            shapeOf(typed).map(n => ownVariant(GLib.Variant.new_uint64(n))))),
        ownVariant(GLib.Variant.new_from_bytes(BYTES_TYPE, new GLib.Bytes(bytes), true)),
    ]);
}

/** Whether a variant is the variant form of a JobArray. */
export function isArrayVariant(variant) {
    return variant.get_type_string() === ARRAY_TYPE &&
        variant.get_child_value(0).get_string()[0] === ARRAY_TAG;
}

/** Makes a typed array from the variant form of a JobArray. Arrays of more
 *  than one dimension get a non-enumerable `shape` property. Element types
 *  without a typed array (big-endian, complex…) give a plain object
 *  {typestr, shape, bytes}. */
export function typedArrayFromVariant(variant) {
    const typestr = variant.get_child_value(1).get_string()[0];
    const shape = variant.get_child_value(2).deepUnpack().map(Number);
    const bytes = variant.get_child_value(3).get_data_as_bytes().toArray();
    const klass = classOf(typestr);
    if (klass === null)
        return {typestr, shape, bytes};
    if (bytes.byteLength % klass.BYTES_PER_ELEMENT !== 0)
        throw new TypeError(`${bytes.byteLength} bytes are not whole ${typestr} items`);
    // A view when aligned, else one copy.
    const source = bytes.byteOffset % klass.BYTES_PER_ELEMENT === 0 ? bytes : bytes.slice();
    const typed = new klass(source.buffer, source.byteOffset,
        source.byteLength / klass.BYTES_PER_ELEMENT);
    if (shape.length !== 1)
        Object.defineProperty(typed, 'shape', {value: shape, enumerable: false});
    return typed;
}

/** Converts a JS value to a GLib.Variant: numbers (`x` when a safe
 *  integer, else `d`), strings, booleans, null, arrays (`av`), plain
 *  objects (`a{sv}`), typed arrays (JobArray form), GLib.Bytes (`ay`), and
 *  GLib.Variant as is. */
export function toVariant(value) {
    if (value instanceof GLib.Variant)
        return value;
    if (value === null || value === undefined)
        return ownVariant(GLib.Variant.new_maybe(VARIANT_TYPE, null));
    // The direct constructors: new GLib.Variant(type, value) parses its
    // type string in JS on every call, several times slower.
    switch (typeof value) {
    case 'boolean':
        return ownVariant(GLib.Variant.new_boolean(value));
    case 'number':
        return ownVariant(Number.isSafeInteger(value)
            ? GLib.Variant.new_int64(value) : GLib.Variant.new_double(value));
    case 'bigint':
        return ownVariant(GLib.Variant.new_int64(Number(value)));
    case 'string':
        return ownVariant(GLib.Variant.new_string(value));
    default:
        break;
    }
    if (ArrayBuffer.isView(value))
        return typedArrayToVariant(value);
    if (value instanceof GLib.Bytes)
        return ownVariant(GLib.Variant.new_from_bytes(BYTES_TYPE, value, true));
    if (Array.isArray(value))
        return variantArray(value.map(toVariant));
    const proto = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
    if (proto === Object.prototype || proto === null) {
        return ownVariant(GLib.Variant.new_array(ENTRY_TYPE,
            Object.entries(value).map(([k, v]) => ownVariant(GLib.Variant.new_dict_entry(
                ownVariant(GLib.Variant.new_string(k)),
                ownVariant(GLib.Variant.new_variant(toVariant(v))))))));
    }
    throw new TypeError(`cannot convert ${value?.constructor?.name ?? typeof value} to a GLib.Variant`);
}

// Strings that GLib.Variant.new_string() would not take as they are: a
// NUL, or a lone UTF-16 surrogate.
const NOT_VARIANT_STRING = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether JSON carries @value exactly as toVariant() and fromVariant()
 *  do: finite numbers, strings, booleans, null, arrays of such values
 *  (`undefined` items too: both make them null) and plain objects of
 *  such values. Typed arrays, variants, bytes, big integers, NaN and the
 *  infinities, `undefined` properties and `__proto__` keys are not: a
 *  value holding one keeps the variant form. */
export function jsonSafe(value) {
    switch (typeof value) {
    case 'boolean':
        return true;
    case 'number':
        return Number.isFinite(value);
    case 'string':
        return !NOT_VARIANT_STRING.test(value);
    case 'object':
        break;
    default:
        return false;
    }
    if (value === null)
        return true;
    if (Array.isArray(value)) {
        for (let i = 0, n = value.length; i < n; i++) {
            const item = value[i];
            if (item === undefined ? !(i in value) : !jsonSafe(item))
                return false;
        }
        return true;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null)
        return false;
    for (const key of Object.keys(value)) {
        if (key === '__proto__' || NOT_VARIANT_STRING.test(key) || value[key] === undefined ||
            !jsonSafe(value[key]))
            return false;
    }
    return true;
}

/** What fromVariant(toVariant(value)) gives, without making variants
 *  when JSON carries the value (see jsonSafe()): a copy, -0 as 0 and
 *  `undefined` as null, as the variants make them. Throws what toVariant()
 *  throws. */
export function variantCopy(value) {
    switch (typeof value) {
    case 'number':
        if (Number.isFinite(value))
            return value === 0 ? 0 : value;
        break;
    case 'boolean':
        return value;
    case 'string':
        if (!NOT_VARIANT_STRING.test(value))
            return value;
        break;
    case 'undefined':
        return null;
    case 'object':
        if (value === null)
            return null;
        if (jsonSafe(value))
            return JSON.parse(JSON.stringify(value));
        break;
    default:
        break;
    }
    return fromVariant(toVariant(value));
}

/** Converts a GLib.Variant back to a JS value (JobArray forms become
 *  typed arrays). */
export function fromVariant(variant) {
    const type = variant.get_type_string();
    switch (type) {
    case 'x':
        return variant.get_int64();
    case 'd':
        return variant.get_double();
    case 's':
        return variant.get_string()[0];
    case 'b':
        return variant.get_boolean();
    case 'av': {
        const out = [];
        for (let i = 0, n = variant.n_children(); i < n; i++)
            out.push(fromVariant(variant.get_child_value(i).get_variant()));
        return out;
    }
    default:
        break;
    }
    if (type === 'mv') {
        const inner = variant.get_maybe();
        return inner === null ? null : fromVariant(inner);
    }
    if (type === 'v')
        return fromVariant(variant.get_variant());
    if (type === ARRAY_TYPE && isArrayVariant(variant))
        return typedArrayFromVariant(variant);
    if (type === 'a{sv}') {
        const out = {};
        for (const [k, v] of Object.entries(variant.deepUnpack()))
            out[k] = fromVariant(v);
        return out;
    }
    if (type === 'x' || type === 't')
        return Number(variant.deepUnpack());
    if (type.startsWith('(')) {
        const out = [];
        for (let i = 0; i < variant.n_children(); i++)
            out.push(fromVariant(variant.get_child_value(i)));
        return out;
    }
    return variant.recursiveUnpack();
}

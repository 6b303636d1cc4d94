/* fix_gateway._codec: split a raw FIX frame into (tag, value) pairs, verifying BodyLength
 * and CheckSum in the same pass. The pure-Python fallback in codec.py has the same
 * semantics; tests run both.
 *
 * Invariants: the frame must start with 8=, then 9=, then 35=; the last field is 10=nnn;
 * BodyLength counts the bytes after the 9= field up to and including the SOH before 10=;
 * CheckSum is the byte sum mod 256 of everything before "10=". Tags are (optionally
 * negative) decimal integers of at most 9 digits; a field without '=' or with any other
 * tag is garbled.
 * A field whose tag is a configured DATA tag and whose predecessor is a configured LENGTH
 * tag takes exactly that many bytes (it may contain SOH).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <structmember.h>

#include "_frame.h"

#define TAGBITS 65536
static unsigned char length_tags[TAGBITS / 8];
static unsigned char data_tags[TAGBITS / 8];
static PyObject *garbled_exc = NULL;
#define TAGCACHE 10000
static PyObject *tag_cache[TAGCACHE];

/* Per-tag last value: repeated values (BeginString, MsgType, CompIDs, symbols...) reuse one
 * bytes object instead of allocating. Values are immutable, so sharing is safe. */
#define VALCACHE 2048
#define VALCACHE_MAXLEN 32
/* venue/ids.py's GATEWAY_BITS: an order id is (microseconds << GATEWAY_BITS) | gateway id */
#define GATEWAY_BITS 6
static PyObject *val_cache[VALCACHE];

static inline PyObject *value_obj(long tag, const char *p, Py_ssize_t n) {
    if (tag >= 0 && tag < VALCACHE && n > 1 && n <= VALCACHE_MAXLEN) {
        PyObject *o = val_cache[tag];
        if (o && PyBytes_GET_SIZE(o) == n && memcmp(PyBytes_AS_STRING(o), p, (size_t)n) == 0) {
            Py_INCREF(o);
            return o;
        }
        PyObject *v = PyBytes_FromStringAndSize(p, n);
        if (!v) return NULL;
        Py_INCREF(v);
        Py_XSETREF(val_cache[tag], v);
        return v;
    }
    return PyBytes_FromStringAndSize(p, n);
}

static inline PyObject *tag_obj(long tag) {
    if (tag >= 0 && tag < TAGCACHE) {
        PyObject *o = tag_cache[tag];
        if (!o) { o = PyLong_FromLong(tag); if (!o) return NULL; tag_cache[tag] = o; }
        Py_INCREF(o);
        return o;
    }
    return PyLong_FromLong(tag);
}

static inline int bit_get(const unsigned char *m, long tag) {
    return tag >= 0 && tag < TAGBITS && (m[tag >> 3] >> (tag & 7)) & 1;
}

static int set_bits(unsigned char *m, PyObject *seq) {
    PyObject *it = PyObject_GetIter(seq);
    if (!it) return -1;
    PyObject *o;
    while ((o = PyIter_Next(it))) {
        long t = PyLong_AsLong(o);
        Py_DECREF(o);
        if (t == -1 && PyErr_Occurred()) { Py_DECREF(it); return -1; }
        if (t >= 0 && t < TAGBITS) m[t >> 3] |= (unsigned char)(1u << (t & 7));
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

static PyObject *configure(PyObject *self, PyObject *args) {
    PyObject *exc, *lt, *dt;
    if (!PyArg_ParseTuple(args, "OOO", &exc, &lt, &dt)) return NULL;
    memset(length_tags, 0, sizeof length_tags);
    memset(data_tags, 0, sizeof data_tags);
    if (set_bits(length_tags, lt) < 0 || set_bits(data_tags, dt) < 0) return NULL;
    Py_INCREF(exc);
    Py_XSETREF(garbled_exc, exc);
    Py_RETURN_NONE;
}

static PyObject *garbled(const char *why) {
    PyErr_SetString(garbled_exc ? garbled_exc : PyExc_ValueError, why);
    return NULL;
}

static PyObject *checksum(PyObject *self, PyObject *arg) {
    Py_buffer b;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0) return NULL;
    const unsigned char *p = b.buf;
    unsigned long s = 0;
    for (Py_ssize_t i = 0; i < b.len; i++) s += p[i];
    PyBuffer_Release(&b);
    return PyLong_FromLong((long)(s & 0xff));
}

/* parse_tag: digits (optional '-') up to '='; returns position of '=' or -1. */
static inline Py_ssize_t parse_tag(const char *p, Py_ssize_t i, Py_ssize_t n, long *tag) {
    int neg = 0;
    long v = 0;
    Py_ssize_t start;
    if (i < n && p[i] == '-') { neg = 1; i++; }
    start = i;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        v = v * 10 + (p[i] - '0');
        i++;
        if (i - start > 9) return -1; /* more than 9 digits: not a tag */
    }
    if (i == start || i >= n || p[i] != '=') return -1;
    *tag = neg ? -v : v;
    return i;
}

static PyObject *split_impl(PyObject *arg, PyObject **shape_out) {
    if (!PyBytes_Check(arg)) { PyErr_SetString(PyExc_TypeError, "bytes expected"); return NULL; }
    const char *p = PyBytes_AS_STRING(arg);
    Py_ssize_t n = PyBytes_GET_SIZE(arg);
    if (n < 20 || p[0] != '8' || p[1] != '=') return garbled("first field is not BeginString(8)");
    if (p[n - 1] != '\x01') return garbled("frame does not end with SOH");
    /* trailer: the last field must be 10=nnn<SOH> */
    if (n < 8 || memcmp(p + n - 8, "\x01" "10=", 4) != 0) return garbled("last field is not CheckSum(10)");
    Py_ssize_t trailer = n - 7; /* index of '1' in "10=" */
    int ck = 0;
    for (int k = 0; k < 3; k++) {
        char c = p[trailer + 3 + k];
        if (c < '0' || c > '9') return garbled("CheckSum is not three digits");
        ck = ck * 10 + (c - '0');
    }
    unsigned long sum = 0;
    Py_ssize_t cap = 1; /* the trailer's SOH */
    const unsigned char *u = (const unsigned char *)p;
    for (Py_ssize_t i = 0; i < trailer; i++) { sum += u[i]; cap += (u[i] == 1); }
    if ((long)(sum & 0xff) != ck) return garbled("CheckSum mismatch");

    PyObject *list = PyList_New(cap);
    if (!list) return NULL;
    int32_t *shp = NULL;
    if (shape_out) {
        *shape_out = PyBytes_FromStringAndSize(NULL, cap * 4);
        if (!*shape_out) { Py_DECREF(list); return NULL; }
        shp = (int32_t *)PyBytes_AS_STRING(*shape_out);
    }
    Py_ssize_t i = 0;
    long prev_tag = 0, prev_len = -1;
    Py_ssize_t body_start = -1;
    int idx = 0;
    while (i < n) {
        long tag;
        Py_ssize_t eq = parse_tag(p, i, n, &tag);
        if (eq < 0) { Py_DECREF(list); if (shape_out) Py_CLEAR(*shape_out); return garbled("malformed field"); }
        Py_ssize_t vs = eq + 1, ve;
        if (prev_len >= 0 && bit_get(data_tags, tag) && vs + prev_len < n && p[vs + prev_len] == '\x01') {
            ve = vs + prev_len;
        } else {
            const char *soh = memchr(p + vs, '\x01', (size_t)(n - vs));
            if (!soh) { Py_DECREF(list); if (shape_out) Py_CLEAR(*shape_out); return garbled("field without SOH"); }
            ve = soh - p;
        }
        if (idx == 0 && tag != 8) { Py_DECREF(list); if (shape_out) Py_CLEAR(*shape_out); return garbled("first field is not BeginString(8)"); }
        if (idx == 1) {
            if (tag != 9) { Py_DECREF(list); if (shape_out) Py_CLEAR(*shape_out); return garbled("second field is not BodyLength(9)"); }
            long bl = 0;
            if (ve == vs || ve - vs > 9) { Py_DECREF(list); if (shape_out) Py_CLEAR(*shape_out); return garbled("bad BodyLength"); }
            for (Py_ssize_t k = vs; k < ve; k++) {
                if (p[k] < '0' || p[k] > '9') { Py_DECREF(list); if (shape_out) Py_CLEAR(*shape_out); return garbled("bad BodyLength"); }
                bl = bl * 10 + (p[k] - '0');
            }
            body_start = ve + 1;
            if (bl != trailer - body_start) { Py_DECREF(list); if (shape_out) Py_CLEAR(*shape_out); return garbled("BodyLength mismatch"); }
        }
        if (idx == 2 && tag != 35) { Py_DECREF(list); if (shape_out) Py_CLEAR(*shape_out); return garbled("third field is not MsgType(35)"); }
        if (bit_get(length_tags, tag)) {
            long v = 0; Py_ssize_t k = vs;
            if (ve > vs && ve - vs < 10) {
                for (; k < ve && p[k] >= '0' && p[k] <= '9'; k++) v = v * 10 + (p[k] - '0');
            }
            prev_len = (k == ve && ve > vs) ? v : -1;
        } else {
            prev_len = -1;
        }
        PyObject *t = tag_obj(tag);
        PyObject *v = value_obj(tag, p + vs, ve - vs);
        PyObject *pair = (t && v) ? PyTuple_New(2) : NULL;
        if (!pair) { Py_XDECREF(t); Py_XDECREF(v); Py_DECREF(list); if (shape_out) Py_CLEAR(*shape_out); return NULL; }
        PyTuple_SET_ITEM(pair, 0, t);
        PyTuple_SET_ITEM(pair, 1, v);
        if (idx >= cap) { Py_DECREF(pair); Py_DECREF(list); if (shape_out) Py_CLEAR(*shape_out); return garbled("malformed field"); }
        PyList_SET_ITEM(list, idx, pair);
        if (shp) shp[idx] = (int32_t)tag;
        prev_tag = tag;
        idx++;
        i = ve + 1;
    }
    (void)prev_tag;
    Py_SET_SIZE(list, idx);
    if (idx < 4) { Py_DECREF(list); if (shape_out) Py_CLEAR(*shape_out); return garbled("too few fields"); }
    if (shape_out && idx != cap && _PyBytes_Resize(shape_out, idx * 4) < 0) { Py_DECREF(list); if (shape_out) Py_CLEAR(*shape_out); return NULL; }
    return list;
}

static PyObject *split(PyObject *self, PyObject *arg) { return split_impl(arg, NULL); }

/* frame_end(buf, start, max_size) -> (status, end): fix_frame_end (_frame.h) on bytes. */
static PyObject *frame_end(PyObject *self, PyObject *args) {
    Py_buffer b;
    Py_ssize_t start, max_size;
    if (!PyArg_ParseTuple(args, "y*nn", &b, &start, &max_size)) return NULL;
    size_t end = 0;
    int status = 0;
    if (start >= 0 && start < b.len && max_size >= 0)
        status = fix_frame_end(b.buf, (size_t)b.len, (size_t)start, (size_t)max_size, &end);
    PyBuffer_Release(&b);
    return Py_BuildValue("in", status, (Py_ssize_t)end);
}


/* split_shape(frame) -> (fields, shape): shape packs the tags as int32s (exact cache key). */
static PyObject *split_shape(PyObject *self, PyObject *arg) {
    PyObject *shape = NULL;
    PyObject *list = split_impl(arg, &shape);
    if (!list) return NULL;
    PyObject *res = PyTuple_New(2);
    if (!res) { Py_DECREF(list); Py_DECREF(shape); return NULL; }
    PyTuple_SET_ITEM(res, 0, list);
    PyTuple_SET_ITEM(res, 1, shape);
    return res;
}

static PyTypeObject *message_type = NULL;
static PyObject *s_fields, *s_raw, *s_shape, *s_begin, *s_msgtype, *s_index;
/* byte offsets of the __slots__ of the message class, found from its member descriptors */
static Py_ssize_t off_fields, off_raw, off_shape, off_begin, off_msgtype, off_index;

static int slot_offset(PyObject *cls, PyObject *name, Py_ssize_t *off) {
    PyObject *d = PyObject_GetAttr(cls, name);
    if (!d) return -1;
    if (Py_TYPE(d) != &PyMemberDescr_Type) {
        Py_DECREF(d);
        PyErr_SetString(PyExc_TypeError, "message class attributes must be __slots__");
        return -1;
    }
    PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
    *off = m->offset;
    Py_DECREF(d);
    return 0;
}

static inline void set_slot(PyObject *obj, Py_ssize_t off, PyObject *v) {
    PyObject **slot = (PyObject **)((char *)obj + off);
    Py_INCREF(v);
    Py_XSETREF(*slot, v);
}

/* set_message_class(cls): parse_message builds instances of cls without calling __init__. */
static PyObject *set_message_class(PyObject *self, PyObject *cls) {
    if (!PyType_Check(cls)) { PyErr_SetString(PyExc_TypeError, "class expected"); return NULL; }
    if (!s_fields) {
        s_fields = PyUnicode_InternFromString("fields");
        s_raw = PyUnicode_InternFromString("raw");
        s_shape = PyUnicode_InternFromString("shape");
        s_begin = PyUnicode_InternFromString("begin_string");
        s_msgtype = PyUnicode_InternFromString("msg_type");
        s_index = PyUnicode_InternFromString("_index");
    }
    if (slot_offset(cls, s_fields, &off_fields) < 0 || slot_offset(cls, s_raw, &off_raw) < 0 ||
        slot_offset(cls, s_shape, &off_shape) < 0 || slot_offset(cls, s_begin, &off_begin) < 0 ||
        slot_offset(cls, s_msgtype, &off_msgtype) < 0 || slot_offset(cls, s_index, &off_index) < 0)
        return NULL;
    Py_INCREF(cls);
    Py_XSETREF(message_type, (PyTypeObject *)cls);
    Py_RETURN_NONE;
}

/* parse_message(frame) -> FixMessage (fields, raw, shape, begin_string, msg_type set). */
static PyObject *parse_message(PyObject *self, PyObject *frame) {
    if (!message_type) { PyErr_SetString(PyExc_RuntimeError, "set_message_class first"); return NULL; }
    PyObject *shape = NULL;
    PyObject *fields = split_impl(frame, &shape);
    if (!fields) return NULL;
    PyObject *obj = message_type->tp_alloc(message_type, 0);
    if (!obj) { Py_DECREF(fields); Py_DECREF(shape); return NULL; }
    PyObject *begin = PyTuple_GET_ITEM(PyList_GET_ITEM(fields, 0), 1);
    PyObject *mt = PyTuple_GET_ITEM(PyList_GET_ITEM(fields, 2), 1);
    set_slot(obj, off_begin, begin);
    set_slot(obj, off_msgtype, mt);
    set_slot(obj, off_raw, frame);
    set_slot(obj, off_index, Py_None);
    PyObject **slot = (PyObject **)((char *)obj + off_fields);
    Py_XSETREF(*slot, fields); /* steal */
    slot = (PyObject **)((char *)obj + off_shape);
    Py_XSETREF(*slot, shape); /* steal */
    return obj;
}

/* first_index(fields) -> {tag: value} keeping the first occurrence of each tag. */
static PyObject *first_index(PyObject *self, PyObject *fields) {
    if (!PyList_Check(fields)) { PyErr_SetString(PyExc_TypeError, "list expected"); return NULL; }
    Py_ssize_t n = PyList_GET_SIZE(fields);
    PyObject *d = _PyDict_NewPresized(n);
    if (!d) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyList_GET_ITEM(fields, i);
        if (PyDict_SetDefault(d, PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1)) == NULL) {
            Py_DECREF(d);
            return NULL;
        }
    }
    return d;
}

static inline int all_digits(const char *p, Py_ssize_t n) {
    if (n <= 0) return 0;
    for (Py_ssize_t i = 0; i < n; i++) if (p[i] < '0' || p[i] > '9') return 0;
    return 1;
}

static inline int dig2(const char *p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

static int check_hms(const char *p, Py_ssize_t n) {
    /* HH:MM:SS[.f{1,9}] */
    if (n < 8 || p[2] != ':' || p[5] != ':') return 0;
    if (!all_digits(p, 2) || !all_digits(p + 3, 2) || !all_digits(p + 6, 2)) return 0;
    if (dig2(p) > 23 || dig2(p + 3) > 59 || dig2(p + 6) > 60) return 0;
    if (n == 8) return 1;
    if (p[8] != '.' || n - 9 < 1 || n - 9 > 9) return 0;
    return all_digits(p + 9, n - 9);
}

static int check_date(const char *p) {
    if (!all_digits(p, 8)) return 0;
    int mo = dig2(p + 4), d = dig2(p + 6);
    return mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
}

static int check_format(int kind, const char *p, Py_ssize_t n) {
    switch (kind) {
    case 1: /* int */
        if (n > 0 && p[0] == '-') { p++; n--; }
        return all_digits(p, n);
    case 2: { /* float */
        if (n > 0 && p[0] == '-') { p++; n--; }
        int dots = 0, digits = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (p[i] == '.') { if (++dots > 1) return 0; }
            else if (p[i] >= '0' && p[i] <= '9') digits++;
            else return 0;
        }
        return digits > 0;
    }
    case 3: return n == 1;
    case 4: return n == 1 && (p[0] == 'Y' || p[0] == 'N');
    case 5: return n >= 17 && p[8] == '-' && check_date(p) && check_hms(p + 9, n - 9);
    case 6: return check_hms(p, n);
    case 7: return n == 8 && check_date(p);
    default: return 1;
    }
}

/* check_values(fields, plan) -> index of the first failing field or -1.
 * plan[i] is None (only non-empty) or (kind, allowed frozenset or None, multi). */
/* check_values on a list and a tuple: the first failing index, -1 when none, -2 on error */
static Py_ssize_t check_values_impl(PyObject *fields, PyObject *plan) {
    Py_ssize_t n = PyList_GET_SIZE(fields);
    if (PyTuple_GET_SIZE(plan) < n) n = PyTuple_GET_SIZE(plan);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyTuple_GET_ITEM(PyList_GET_ITEM(fields, i), 1);
        const char *p = PyBytes_AS_STRING(v);
        Py_ssize_t len = PyBytes_GET_SIZE(v);
        if (len == 0) return i;
        PyObject *e = PyTuple_GET_ITEM(plan, i);
        if (e == Py_None) continue;
        int kind = (int)PyLong_AsLong(PyTuple_GET_ITEM(e, 0));
        if (!check_format(kind, p, len)) return i;
        PyObject *allowed = PyTuple_GET_ITEM(e, 1);
        if (allowed != Py_None) {
            if (PyTuple_GET_ITEM(e, 2) == Py_True) {
                /* space separated values, each must be allowed */
                Py_ssize_t a = 0;
                while (a < len) {
                    Py_ssize_t b = a;
                    while (b < len && p[b] != ' ') b++;
                    if (b > a) {
                        PyObject *tok = PyBytes_FromStringAndSize(p + a, b - a);
                        if (!tok) return -2;
                        int r = PySet_Contains(allowed, tok);
                        Py_DECREF(tok);
                        if (r < 0) return -2;
                        if (!r) return i;
                    }
                    a = b + 1;
                }
            } else {
                int r = PySet_Contains(allowed, v);
                if (r < 0) return -2;
                if (!r) return i;
            }
        }
    }
    return -1;
}

static PyObject *check_values(PyObject *self, PyObject *args) {
    PyObject *fields, *plan;
    if (!PyArg_ParseTuple(args, "O!O!", &PyList_Type, &fields, &PyTuple_Type, &plan)) return NULL;
    Py_ssize_t at = check_values_impl(fields, plan);
    return at == -2 ? NULL : PyLong_FromSsize_t(at);
}

/* encode(begin: bytes, msg_type: bytes, fields) -> bytes; values bytes, str or int. */
typedef struct { const char *p; Py_ssize_t n; long tag; char num[24]; } enc_field;

static inline int itoa_l(long v, char *out) {
    char tmp[24];
    int n = 0, neg = v < 0;
    unsigned long u = neg ? (unsigned long)(-(v + 1)) + 1 : (unsigned long)v;
    do { tmp[n++] = (char)('0' + u % 10); u /= 10; } while (u);
    int k = 0;
    if (neg) out[k++] = '-';
    while (n) out[k++] = tmp[--n];
    return k;
}

/* "8=<begin>|9=<len>|35=<type>|" at w; returns the position after it */
static inline char *put_head(char *w, const char *bs, Py_ssize_t bsl, const char *len, int ll,
                             const char *mt, Py_ssize_t mtl) {
    memcpy(w, "8=", 2); w += 2;
    memcpy(w, bs, (size_t)bsl); w += bsl;
    *w++ = '\x01';
    memcpy(w, "9=", 2); w += 2;
    memcpy(w, len, (size_t)ll); w += ll;
    *w++ = '\x01';
    memcpy(w, "35=", 3); w += 3;
    memcpy(w, mt, (size_t)mtl); w += mtl;
    *w++ = '\x01';
    return w;
}

/* "<tag3>=<value>|" for a three-character "NN=" prefix; returns the position after it */
static inline char *put_field3(char *w, const char *prefix, const char *v, Py_ssize_t vl) {
    memcpy(w, prefix, 3); w += 3;
    memcpy(w, v, (size_t)vl); w += vl;
    *w++ = '\x01';
    return w;
}

/* "10=nnn|" at w, the sum of the bytes base..w */
static inline void put_trailer(const char *base, char *w) {
    const unsigned char *u = (const unsigned char *)base;
    unsigned long sum = 0;
    Py_ssize_t upto = w - base;
    for (Py_ssize_t i = 0; i < upto; i++) sum += u[i];
    sum &= 0xff;
    w[0] = '1'; w[1] = '0'; w[2] = '=';
    w[3] = (char)('0' + sum / 100); w[4] = (char)('0' + (sum / 10) % 10); w[5] = (char)('0' + sum % 10);
    w[6] = '\x01';
}

static PyObject *encode(PyObject *self, PyObject *args) {
    const char *bs, *mt;
    Py_ssize_t bsl, mtl;
    PyObject *fields;
    if (!PyArg_ParseTuple(args, "y#y#O", &bs, &bsl, &mt, &mtl, &fields)) return NULL;
    PyObject *seq = PySequence_Fast(fields, "fields must be a sequence");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    enc_field stackbuf[64];
    enc_field *f = n <= 64 ? stackbuf : PyMem_Malloc(sizeof(enc_field) * (size_t)n);
    PyObject *result = NULL;
    if (!f) { Py_DECREF(seq); return PyErr_NoMemory(); }
    Py_ssize_t body = 3 + mtl + 1;
    char tb[24];
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
            PyErr_SetString(PyExc_TypeError, "fields must be (tag, value) tuples");
            goto out;
        }
        long tag = PyLong_AsLong(PyTuple_GET_ITEM(item, 0));
        if (tag == -1 && PyErr_Occurred()) goto out;
        f[i].tag = tag;
        PyObject *v = PyTuple_GET_ITEM(item, 1);
        if (PyBytes_Check(v)) {
            f[i].p = PyBytes_AS_STRING(v); f[i].n = PyBytes_GET_SIZE(v);
        } else if (PyUnicode_Check(v)) {
            f[i].p = PyUnicode_AsUTF8AndSize(v, &f[i].n);
            if (!f[i].p) goto out;
        } else if (PyLong_Check(v)) {
            long x = PyLong_AsLong(v);
            if (x == -1 && PyErr_Occurred()) goto out;
            f[i].n = itoa_l(x, f[i].num);
            f[i].p = f[i].num;
        } else {
            PyErr_SetString(PyExc_TypeError, "field values must be bytes, str or int");
            goto out;
        }
        if (tag == 0) {  /* a pre-encoded run of fields ("tag=value\x01"...), copied as is */
            if (!PyBytes_Check(v)) {
                PyErr_SetString(PyExc_TypeError, "tag 0 (pre-encoded fields) needs bytes");
                goto out;
            }
            body += f[i].n;
            continue;
        }
        body += itoa_l(tag, tb) + 2 + f[i].n;
    }
    {
        char lenbuf[24];
        int ll = itoa_l((long)body, lenbuf);
        Py_ssize_t total = 2 + bsl + 1 + 2 + ll + 1 + body + 7;
        result = PyBytes_FromStringAndSize(NULL, total);
        if (!result) goto out;
        char *base = PyBytes_AS_STRING(result);
        char *w = put_head(base, bs, bsl, lenbuf, ll, mt, mtl);
        for (Py_ssize_t i = 0; i < n; i++) {
            if (f[i].tag == 0) { memcpy(w, f[i].p, (size_t)f[i].n); w += f[i].n; continue; }
            w += itoa_l(f[i].tag, w);
            *w++ = '=';
            memcpy(w, f[i].p, (size_t)f[i].n); w += f[i].n;
            *w++ = '\x01';
        }
        put_trailer(base, w);
    }
out:
    if (f != stackbuf) PyMem_Free(f);
    Py_DECREF(seq);
    return result;
}

/* encode_run(begin, msg_type, sender, target, sending_time, first_seq, bodies) -> list[bytes]:
   one message per pre-encoded body, MsgSeqNum first_seq, first_seq + 1, ...; each equals
   encode(begin, msg_type, [(34, seq), (49, sender), (52, sending_time), (56, target), (0, body)]). */
static PyObject *encode_run(PyObject *self, PyObject *args) {
    const char *bs, *mt, *snd, *tgt, *ts;
    Py_ssize_t bsl, mtl, sndl, tgtl, tsl;
    long first;
    PyObject *bodies;
    if (!PyArg_ParseTuple(args, "y#y#y#y#y#lO!", &bs, &bsl, &mt, &mtl, &snd, &sndl, &tgt, &tgtl,
                          &ts, &tsl, &first, &PyList_Type, &bodies)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(bodies);
    PyObject *out = PyList_New(n);
    if (!out) return NULL;
    /* the header fields after 35 and 34: 49=sender|52=time|56=target| */
    Py_ssize_t fixed = 3 + mtl + 1 + 3 + sndl + 1 + 3 + tsl + 1 + 3 + tgtl + 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *b = PyList_GET_ITEM(bodies, i);
        if (!PyBytes_Check(b)) {
            Py_DECREF(out);
            PyErr_SetString(PyExc_TypeError, "bodies must be bytes");
            return NULL;
        }
        char seqbuf[24], lenbuf[24];
        int sl = itoa_l(first + (long)i, seqbuf);
        Py_ssize_t bl = PyBytes_GET_SIZE(b);
        Py_ssize_t body = fixed + 3 + sl + 1 + bl;
        int ll = itoa_l((long)body, lenbuf);
        Py_ssize_t total = 2 + bsl + 1 + 2 + ll + 1 + body + 7;
        PyObject *msg = PyBytes_FromStringAndSize(NULL, total);
        if (!msg) { Py_DECREF(out); return NULL; }
        char *base = PyBytes_AS_STRING(msg);
        char *w = put_head(base, bs, bsl, lenbuf, ll, mt, mtl);
        w = put_field3(w, "34=", seqbuf, sl);
        w = put_field3(w, "49=", snd, sndl);
        w = put_field3(w, "52=", ts, tsl);
        w = put_field3(w, "56=", tgt, tgtl);
        memcpy(w, PyBytes_AS_STRING(b), (size_t)bl); w += bl;
        put_trailer(base, w);
        PyList_SET_ITEM(out, i, msg);
    }
    return out;
}

/* ---------------------------------------------------------------- ExecutionReport bodies */

static const long long pow10_ll[19] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
    1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL,
};

/* units of 10**-scale as text (reports.units_text): no trailing zeros, "0" for zero.
   out needs 48 bytes. Returns the length, or -1 (OverflowError set). */
static int units_c(long long u, long scale, char *out) {
    if (scale < 0 || scale > 18 || u == LLONG_MIN) {
        PyErr_SetString(PyExc_OverflowError, "units or scale out of the fast range");
        return -1;
    }
    int k = 0;
    if (u < 0) { out[k++] = '-'; u = -u; }
    long long p = pow10_ll[scale];
    long long q = u / p, r = u % p;
    k += itoa_l((long)q, out + k);
    if (r) {
        char frac[19];
        for (long i = scale - 1; i >= 0; i--) { frac[i] = (char)('0' + r % 10); r /= 10; }
        long m = scale;
        while (m > 0 && frac[m - 1] == '0') m--;
        out[k++] = '.';
        memcpy(out + k, frac, (size_t)m);
        k += (int)m;
    }
    return k;
}

static int as_ll(PyObject *o, long long *v) {
    int overflow = 0;
    *v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow) { PyErr_SetString(PyExc_OverflowError, "integer out of the fast range"); return -1; }
    if (*v == -1 && PyErr_Occurred()) return -1;
    return 0;
}

static int as_bytes(PyObject *o, const char **p, Py_ssize_t *n) {
    if (!PyBytes_Check(o)) { PyErr_SetString(PyExc_TypeError, "expected bytes"); return -1; }
    *p = PyBytes_AS_STRING(o); *n = PyBytes_GET_SIZE(o);
    return 0;
}

/* The body of an ExecutionReport from C values (er_body's and fold_events's): see er_body. */
static PyObject *er_compose(const char *head, Py_ssize_t headl, const char *orig, Py_ssize_t origl, long long evt,
                            long long n, const char *et, Py_ssize_t etl, const char *st, Py_ssize_t stl,
                            const char *terms, Py_ssize_t terml, long long lpx, long long lqty, long long pscale,
                            long long qscale, long long leaves, long long cum, const char *avgp, Py_ssize_t avgl,
                            long long cval, int has_comm, long long comm, long long cscale, const char *text,
                            Py_ssize_t textl, const char *tt, Py_ssize_t ttl, const char *liq, Py_ssize_t liql,
                            long long aggr) {
    char px[48], qty[48], lv[48], cq[48], avg[48], cm[48], ev[24], nn[24];
    int pxl = 0, qtyl = 0, lvl, cql, avl, cml = 0, evl, nnl;
    if (lqty) {
        if ((pxl = units_c(lpx, (long)pscale, px)) < 0 || (qtyl = units_c(lqty, (long)qscale, qty)) < 0) return NULL;
    }
    if ((lvl = units_c(leaves, (long)qscale, lv)) < 0 || (cql = units_c(cum, (long)qscale, cq)) < 0) return NULL;
    if (avgp == NULL) {
        if (cum == 0) { avg[0] = '0'; avl = 1; }
        else {
            if (cval % cum) { PyErr_SetString(PyExc_ValueError, "average price is not whole: pass its text"); return NULL; }
            if ((avl = units_c(cval / cum, (long)pscale, avg)) < 0) return NULL;
        }
        avgp = avg; avgl = avl;
    }
    if (has_comm && (cml = units_c(comm, (long)cscale, cm)) < 0) return NULL;
    if (evt < LONG_MIN || evt > LONG_MAX || n < LONG_MIN || n > LONG_MAX) {
        PyErr_SetString(PyExc_OverflowError, "sequence out of range"); return NULL;
    }
    evl = itoa_l((long)evt, ev); nnl = itoa_l((long)n, nn);
    Py_ssize_t total = headl + (origl ? 3 + origl + 1 : 0) + 3 + evl + 1 + nnl + 1 + 4 + etl + 1
        + 3 + stl + 1 + terml + (lqty ? 3 + pxl + 1 + 3 + qtyl + 1 : 0)
        + 4 + lvl + 1 + 3 + cql + 1 + 2 + avgl + 1 + (has_comm ? 3 + cml + 1 + 5 : 0)
        + (textl ? 3 + textl + 1 : 0) + 3 + ttl + 1 + (liql ? 4 + liql + 1 : 0) + (aggr >= 0 ? 7 : 0);
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (!out) return NULL;
    char *w = PyBytes_AS_STRING(out);
#define PUT(s, l) do { memcpy(w, (s), (size_t)(l)); w += (l); } while (0)
    PUT(head, headl);
    if (origl) { PUT("41=", 3); PUT(orig, origl); *w++ = '\x01'; }
    PUT("17=", 3); PUT(ev, evl); *w++ = '-'; PUT(nn, nnl); *w++ = '\x01';
    PUT("150=", 4); PUT(et, etl); *w++ = '\x01';
    PUT("39=", 3); PUT(st, stl); *w++ = '\x01';
    PUT(terms, terml);
    if (lqty) { PUT("31=", 3); PUT(px, pxl); *w++ = '\x01'; PUT("32=", 3); PUT(qty, qtyl); *w++ = '\x01'; }
    PUT("151=", 4); PUT(lv, lvl); *w++ = '\x01';
    PUT("14=", 3); PUT(cq, cql); *w++ = '\x01';
    PUT("6=", 2); PUT(avgp, avgl); *w++ = '\x01';
    if (has_comm) { PUT("12=", 3); PUT(cm, cml); *w++ = '\x01'; PUT("13=3\x01", 5); }
    if (textl) { PUT("58=", 3); PUT(text, textl); *w++ = '\x01'; }
    PUT("60=", 3); PUT(tt, ttl); *w++ = '\x01';
    if (liql) { PUT("851=", 4); PUT(liq, liql); *w++ = '\x01'; }
    if (aggr >= 0) PUT(aggr ? "1057=Y\x01" : "1057=N\x01", 7);
#undef PUT
    if (w - PyBytes_AS_STRING(out) != total) {  /* cannot happen: the sizes above are the writes */
        Py_DECREF(out);
        PyErr_SetString(PyExc_SystemError, "er_body: size mismatch");
        return NULL;
    }
    return out;
}


#define ER_NARGS 21
/* er_body(head, orig, evt_seq, n, exec_type, status, terms, last_px, last_qty, price_scale,
   qty_scale, leaves, cum, avg, cum_value, commission, quote_scale, text, transact, last_liq,
   aggressor) -> bytes: the body fields of an ExecutionReport (see _pycodec.py_er_body, the
   reference). Raises OverflowError for values past 64 bits: the caller then uses the reference. */
static PyObject *er_body(PyObject *self, PyObject *const *a, Py_ssize_t nargs) {
    if (nargs != ER_NARGS) { PyErr_SetString(PyExc_TypeError, "er_body takes 21 arguments"); return NULL; }
    const char *head = NULL, *orig = NULL, *et = NULL, *st = NULL, *terms = NULL, *text = NULL,
               *tt = NULL, *liq = NULL, *avgp = NULL;
    Py_ssize_t headl = 0, origl = 0, etl = 0, stl = 0, terml = 0, textl = 0, ttl = 0, liql = 0, avgl = 0;
    long long evt = 0, n = 0, lpx = 0, lqty = 0, pscale = 0, qscale = 0, leaves = 0, cum = 0, cval = 0,
              comm = 0, cscale = 0, aggr = -1;
    if (as_bytes(a[0], &head, &headl) || as_bytes(a[1], &orig, &origl) || as_ll(a[2], &evt)
        || as_ll(a[3], &n) || as_bytes(a[4], &et, &etl) || as_bytes(a[5], &st, &stl)
        || as_bytes(a[6], &terms, &terml) || as_ll(a[7], &lpx) || as_ll(a[8], &lqty)
        || as_ll(a[9], &pscale) || as_ll(a[10], &qscale) || as_ll(a[11], &leaves)
        || as_ll(a[12], &cum) || as_ll(a[14], &cval) || as_ll(a[16], &cscale)
        || as_bytes(a[17], &text, &textl) || as_bytes(a[18], &tt, &ttl)
        || as_bytes(a[19], &liq, &liql) || as_ll(a[20], &aggr)) return NULL;
    if (a[13] != Py_None && as_bytes(a[13], &avgp, &avgl)) return NULL;
    int has_comm = a[15] != Py_None;
    if (has_comm && as_ll(a[15], &comm)) return NULL;
    return er_compose(head, headl, orig, origl, evt, n, et, etl, st, stl, terms, terml, lpx, lqty, pscale, qscale,
                      leaves, cum, avgp, avgl, cval, has_comm, comm, cscale, text, textl, tt, ttl, liq, liql, aggr);
}

/* ---------------------------------------------------------------- ExecutionReport order terms */

static int as_ascii(PyObject *o, const char **p, Py_ssize_t *n) {
    if (!PyUnicode_Check(o)) { PyErr_SetString(PyExc_TypeError, "expected str"); return -1; }
    *p = PyUnicode_AsUTF8AndSize(o, n);
    return *p ? 0 : -1;
}

#define TERMS_NARGS 10
/* er_terms(account, symbol, side, qty, qty_scale, ord_type, price, price_scale, stop_price,
   tif) -> bytes: an order's Account(1) .. TimeInForce(59) fields, the run er_body puts
   between OrdStatus and LastPx (see _pycodec.py_er_terms, the reference). Texts are str;
   Account, OrdType and TimeInForce only when not empty, Price only when positive and the
   order type is limit (2) or stop limit (4), StopPx only when positive. Raises OverflowError
   for values past 64 bits: the caller then uses the reference. */
static PyObject *er_terms(PyObject *self, PyObject *const *a, Py_ssize_t nargs) {
    if (nargs != TERMS_NARGS) { PyErr_SetString(PyExc_TypeError, "er_terms takes 10 arguments"); return NULL; }
    const char *acc, *sym, *side, *ot, *tif;
    Py_ssize_t accl, syml, sidel, otl, tifl;
    long long qty, qscale, price, pscale, stop;
    if (as_ascii(a[0], &acc, &accl) || as_ascii(a[1], &sym, &syml) || as_ascii(a[2], &side, &sidel)
        || as_ll(a[3], &qty) || as_ll(a[4], &qscale) || as_ascii(a[5], &ot, &otl)
        || as_ll(a[6], &price) || as_ll(a[7], &pscale) || as_ll(a[8], &stop)
        || as_ascii(a[9], &tif, &tifl)) return NULL;
    char q[48], px[48], sp[48];
    int ql, pxl = 0, spl = 0;
    int limit = otl == 1 && (ot[0] == '2' || ot[0] == '4');
    if ((ql = units_c(qty, (long)qscale, q)) < 0) return NULL;
    if (price > 0 && limit && (pxl = units_c(price, (long)pscale, px)) < 0) return NULL;
    if (stop > 0 && (spl = units_c(stop, (long)pscale, sp)) < 0) return NULL;
    Py_ssize_t total = (accl ? 2 + accl + 1 : 0) + 3 + syml + 1 + 3 + sidel + 1 + 3 + ql + 1
        + (otl ? 3 + otl + 1 : 0) + (pxl ? 3 + pxl + 1 : 0) + (spl ? 3 + spl + 1 : 0)
        + (tifl ? 3 + tifl + 1 : 0);
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (!out) return NULL;
    char *w = PyBytes_AS_STRING(out);
#define PUTF(tag, tl, s, l) do { memcpy(w, (tag), (tl)); w += (tl); memcpy(w, (s), (size_t)(l)); w += (l); *w++ = '\x01'; } while (0)
    if (accl) PUTF("1=", 2, acc, accl);
    PUTF("55=", 3, sym, syml);
    PUTF("54=", 3, side, sidel);
    PUTF("38=", 3, q, ql);
    if (otl) PUTF("40=", 3, ot, otl);
    if (pxl) PUTF("44=", 3, px, pxl);
    if (spl) PUTF("99=", 3, sp, spl);
    if (tifl) PUTF("59=", 3, tif, tifl);
#undef PUTF
    return out;
}

/* ---------------------------------------------------------------- NewOrderSingle translation */

/* units of 10**-scale of a plain positive "digits[.digits]" value (requests._fast_units,
   limited to 18 digits in all); -1 when it is not one (the caller takes the general path) */
static long long plain_units(PyObject *v, long long scale) {
    if (v == NULL || !PyBytes_Check(v) || scale < 0 || scale > 18) return -1;
    const char *p = PyBytes_AS_STRING(v);
    Py_ssize_t n = PyBytes_GET_SIZE(v), i = 0;
    long long head = 0, frac = 0;
    int hd = 0, fd = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9') { head = head * 10 + (p[i] - '0'); i++; if (++hd > 18) return -1; }
    if (hd == 0) return -1;
    if (i < n) {
        if (p[i] != '.') return -1;
        i++;
        if (i == n) return -1;  /* "1." */
        for (; i < n; i++) {
            if (p[i] < '0' || p[i] > '9') return -1;
            if (fd < scale) { frac = frac * 10 + (p[i] - '0'); fd++; }
            else if (p[i] != '0') return -1;  /* finer than the scale */
        }
    }
    if (hd + scale > 18) return -1;
    long long units = head * pow10_ll[scale] + frac * pow10_ll[scale - fd];
    return units > 0 ? units : -1;
}

static inline void put_le(unsigned char *w, uint64_t v, int n) {
    for (int i = 0; i < n; i++) { w[i] = (unsigned char)(v & 0xff); v >>= 8; }
}

static inline int one_char(PyObject *v, char *c) {
    if (!v || !PyBytes_Check(v) || PyBytes_GET_SIZE(v) != 1) return 0;
    *c = PyBytes_AS_STRING(v)[0];
    return 1;
}

static inline PyObject *latin1(PyObject *v) {  /* new reference; "" for an absent value */
    if (!v) return PyUnicode_New(0, 0);
    return PyUnicode_DecodeLatin1(PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v), NULL);
}

#define NO_RECORD_SIZE 104
#define PLAN_SIZE 9
enum { NV_ACCOUNT, NV_CLORDID, NV_QTY, NV_ORDTYPE, NV_PRICE, NV_SIDE, NV_SYMBOL, NV_TIF, NV_COUNT };

static PyObject *fa_orders, *fa_live_by_id, *fa_by_cl_ord_id, *fa_n, *fa_tt, *fa_reported, *fa_fix44, *fa_fix44_map,
                *fa_session, *fa_cl_ord_id, *fa_orig_cl_ord_id, *fa_source, *fa_head, *fa_terms, *fa_status,
                *fa_live, *fa_leaves, *fa_cum_qty, *fa_cum_value, *fa_order_id, *fa_account, *fa_spec,
                *fa_instrument_id, *fa_encode_terms, *fa_avg_px_text, *fa_accounts_by_id, *fa_code, *fa_symbol, *fa_side, *fa_shards,
                *fs_8, *fs_empty, *fs_status_1, *fs_status_2, *fs_status_4, *fs_status_c, *fb_empty, *fi_zero;

/* the names the order-entry calls below read and write, interned once */
static int intern_names(void) {
    if (fa_orders) return 0;
#define INTERN(var, text) if (!(var = PyUnicode_InternFromString(text))) return -1
    INTERN(fa_live_by_id, "live_by_id"); INTERN(fa_by_cl_ord_id, "by_cl_ord_id"); INTERN(fa_n, "_n");
    INTERN(fa_tt, "_tt"); INTERN(fa_reported, "reported"); INTERN(fa_fix44, "fix44"); INTERN(fa_fix44_map, "_fix44");
    INTERN(fa_session, "session"); INTERN(fa_cl_ord_id, "cl_ord_id"); INTERN(fa_orig_cl_ord_id, "orig_cl_ord_id");
    INTERN(fa_source, "source"); INTERN(fa_head, "head"); INTERN(fa_terms, "terms"); INTERN(fa_status, "status");
    INTERN(fa_live, "live"); INTERN(fa_leaves, "leaves"); INTERN(fa_cum_qty, "cum_qty");
    INTERN(fa_cum_value, "cum_value"); INTERN(fa_order_id, "order_id"); INTERN(fa_account, "account");
    INTERN(fa_spec, "spec"); INTERN(fa_instrument_id, "instrument_id"); INTERN(fa_encode_terms, "encode_terms");
    INTERN(fa_avg_px_text, "avg_px_text"); INTERN(fa_accounts_by_id, "accounts_by_id"); INTERN(fa_code, "code");
    INTERN(fa_symbol, "symbol"); INTERN(fa_side, "side"); INTERN(fa_shards, "_shards"); INTERN(fs_8, "8"); INTERN(fs_empty, ""); INTERN(fs_status_1, "1");
    INTERN(fs_status_2, "2"); INTERN(fs_status_4, "4"); INTERN(fs_status_c, "C");
#undef INTERN
    if (!(fb_empty = PyBytes_FromStringAndSize("", 0)) || !(fi_zero = PyLong_FromLong(0))) return -1;
    if (!(fa_orders = PyUnicode_InternFromString("orders"))) return -1;
    return 0;
}

/* a ShardedDict's (or a plain dict's) shard for key (venue/sharded_dict.py: hash(key) %
   len(_shards) picks the plain dict): borrowed, NULL with an error on failure */
static PyObject *shard_of(PyObject *sd, PyObject *key) {
    if (PyDict_Check(sd)) return sd;
    PyObject *shards = PyObject_GetAttr(sd, fa_shards);
    if (!shards) return NULL;
    PyObject *shard = NULL;
    Py_ssize_t n = PyList_Check(shards) ? PyList_GET_SIZE(shards) : 0;
    if (n > 0) {
        Py_hash_t h = PyObject_Hash(key);
        if (h != -1) {
            Py_ssize_t i = (Py_ssize_t)(h % n);
            if (i < 0) i += n;
            shard = PyList_GET_ITEM(shards, i);
            if (!PyDict_Check(shard)) shard = NULL;
        }
    }
    if (!shard && !PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "ShardedDict._shards: a list of dicts expected");
    Py_DECREF(shards);  /* the list stays alive: the ShardedDict holds it */
    return shard;
}

/* The order a ClOrdID names: OrderBook.find(account, cl_ord_id) over by_cl_ord_id, a dict
   of account -> ShardedDict. Borrowed reference; NULL with no error when there is none, NULL
   with an error set on failure. */
static PyObject *book_find(PyObject *by_cl_ord_id, PyObject *account, PyObject *cl_ord_id) {
    PyObject *named = PyDict_GetItemWithError(by_cl_ord_id, account);
    PyObject *shard = named ? shard_of(named, cl_ord_id) : NULL;
    return shard ? PyDict_GetItemWithError(shard, cl_ord_id) : NULL;
}

/* 1 when (account, ClOrdID) is a duplicate (OrderEntryApplication._duplicate: in flight, or
   an order of the day carried it), 0 when not, -1 on error. */
static int duplicate(PyObject *inflight, PyObject *by_cl_ord_id, PyObject *account, PyObject *cl_ord_id) {
    PyObject *key = PyTuple_Pack(2, account, cl_ord_id);
    if (!key) return -1;
    int in = PySet_Contains(inflight, key);
    Py_DECREF(key);
    if (in != 0) return in;
    if (book_find(by_cl_ord_id, account, cl_ord_id)) return 1;
    return PyErr_Occurred() ? -1 : 0;
}

/* the session's account for a request: Account(1) if present and not empty, else the
   session's first (requests._account); borrowed (account_id, code, firm) or NULL (declined,
   or an error set) */
static PyObject *plan_account(PyObject *plan, PyObject *value) {
    PyObject *accounts = PyTuple_GET_ITEM(plan, 3);
    PyObject *acct = (value && PyBytes_GET_SIZE(value)) ? PyDict_GetItemWithError(accounts, value) : PyTuple_GET_ITEM(plan, 4);
    if (!acct || !PyTuple_Check(acct) || PyTuple_GET_SIZE(acct) != 3) return NULL;
    int dead = PySet_Contains(PyTuple_GET_ITEM(plan, 5), PyTuple_GET_ITEM(acct, 2));
    return dead == 0 ? acct : NULL;
}

static int plan_ok(PyObject *plan) {
    return PyTuple_Check(plan) && PyTuple_GET_SIZE(plan) == PLAN_SIZE && PyLong_Check(PyTuple_GET_ITEM(plan, 2))
        && PyDict_Check(PyTuple_GET_ITEM(plan, 3)) && PyAnySet_Check(PyTuple_GET_ITEM(plan, 5))
        && PyDict_Check(PyTuple_GET_ITEM(plan, 6)) && PyUnicode_Check(PyTuple_GET_ITEM(plan, 1));
}

/* The arguments new_order_fast and cancel_fast take: (msg, plan, id, now_ns, inflight,
   by_cl_ord_id). 1 to go on (*id and *now set), 0 to decline (anything unexpected), -1 on a
   wrong count (TypeError set). */
static int fast_args(PyObject *const *a, Py_ssize_t nargs, const char *usage, long long *id, long long *now) {
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, usage);
        return -1;
    }
    if (!message_type || Py_TYPE(a[0]) != message_type || !plan_ok(a[1]) || !PyLong_Check(a[2]) || !PyLong_Check(a[3])
        || !PyAnySet_Check(a[4]) || !PyDict_Check(a[5]))
        return 0;
    *id = PyLong_AsLongLong(a[2]);
    *now = PyLong_AsLongLong(a[3]);
    if (PyErr_Occurred()) { PyErr_Clear(); return 0; }
    if (intern_names() < 0) return -1;
    return *id >= 0;
}

/* The first value of each of tags[0..n) among msg's fields (as FixMessage.get reads them) into
   out[] (borrowed; NULL when absent). 0 when read, 1 to decline: a field not (int, bytes), or
   one of refuse[0..nrefuse) present. */
static int scan_fields(PyObject *msg, const long *tags, int n, const long *refuse, int nrefuse, PyObject **out) {
    PyObject *fields = *(PyObject **)((char *)msg + off_fields);
    if (!fields || !PyList_Check(fields)) return 1;
    for (int k = 0; k < n; k++) out[k] = NULL;
    Py_ssize_t nf = PyList_GET_SIZE(fields);
    for (Py_ssize_t i = 0; i < nf; i++) {
        PyObject *f = PyList_GET_ITEM(fields, i);
        if (!PyTuple_Check(f) || PyTuple_GET_SIZE(f) != 2 || !PyLong_Check(PyTuple_GET_ITEM(f, 0))) return 1;
        long tag = PyLong_AsLong(PyTuple_GET_ITEM(f, 0));
        if (tag == -1 && PyErr_Occurred()) { PyErr_Clear(); return 1; }
        for (int k = 0; k < nrefuse; k++)
            if (tag == refuse[k]) return 1;
        for (int k = 0; k < n; k++) {
            if (tag != tags[k]) continue;
            if (!PyBytes_Check(PyTuple_GET_ITEM(f, 1))) return 1;
            if (!out[k]) out[k] = PyTuple_GET_ITEM(f, 1);
            break;
        }
    }
    return 0;
}

/* new_order_fast(msg, plan, order_id, now_ns, inflight, by_cl_ord_id) -> (record, RequestMeta)
   | None: the whole translation of a plain NewOrderSingle (requests._new_order and the
   application's duplicate check): the account, the instrument, the terms, the NewOrder
   command record (wire.encode_new_order's bytes) and the request's RequestMeta, in one call
   over the message's fields (first occurrences, as FixMessage.get).

   plan (refdata.RefData.order_plan, one per session): (SessionContext, session_id,
   stp_mode, {account code bytes: (account_id, code, firm)} of the session's tradable accounts,
   the default account's entry or None, the killed firms (the live set), {symbol bytes:
   (instrument_id, price_scale, qty_scale, symbol)}, the RequestMeta class, "fix").

   Plain means: Account(1) absent, empty or one of the session's, its firm not killed;
   Symbol(55) a known instrument; Side 1/2; OrdType market/limit; TimeInForce absent or
   0/1/3/4; a plain positive OrderQty; a plain positive Price for a limit order (a market
   order's must still be plain); no StopPx, MaxFloor, ExecInst or SelfTradePreventionMode;
   a ClOrdID neither in flight (inflight: the set of (account, ClOrdID)) nor of an order of
   the day (by_cl_ord_id: OrderBook.by_cl_ord_id). Anything else is declined (None), and
   the Python translation decides, refusals included. The reference is that Python
   translation: tests/property/test_new_order_fast.py. */
/* new_order_fast on arguments fast_args has checked, the id and time as C values too */
static PyObject *new_order_impl(PyObject *const *a, long long order_id, long long now_ns) {
    PyObject *plan = a[1];
    PyObject *session = PyTuple_GET_ITEM(plan, 1), *instruments = PyTuple_GET_ITEM(plan, 6);
    PyObject *meta_type = PyTuple_GET_ITEM(plan, 7), *source = PyTuple_GET_ITEM(plan, 8);
    long long stp = PyLong_AsLongLong(PyTuple_GET_ITEM(plan, 2));
    if (PyErr_Occurred()) { PyErr_Clear(); Py_RETURN_NONE; }
    if (stp < 0 || stp > 255) Py_RETURN_NONE;
    /* (in NV_ order) */
    static const long tags[NV_COUNT] = {1, 11, 38, 40, 44, 54, 55, 59};
    static const long not_plain[4] = {18, 99, 111, 7928};  /* ExecInst, StopPx, MaxFloor, STP mode */
    PyObject *v[NV_COUNT];
    if (scan_fields(a[0], tags, NV_COUNT, not_plain, 4, v)) Py_RETURN_NONE;

    PyObject *acct = plan_account(plan, v[NV_ACCOUNT]);
    if (!acct) { if (PyErr_Occurred()) return NULL; Py_RETURN_NONE; }
    long long account_id = PyLong_AsLongLong(PyTuple_GET_ITEM(acct, 0));
    if (PyErr_Occurred()) { PyErr_Clear(); Py_RETURN_NONE; }
    if (account_id < 0) Py_RETURN_NONE;

    /* the instrument */
    if (!v[NV_SYMBOL]) Py_RETURN_NONE;
    PyObject *ins = PyDict_GetItemWithError(instruments, v[NV_SYMBOL]);
    if (!ins) { if (PyErr_Occurred()) return NULL; Py_RETURN_NONE; }
    if (!PyTuple_Check(ins) || PyTuple_GET_SIZE(ins) != 4) Py_RETURN_NONE;
    long long instrument_id = PyLong_AsLongLong(PyTuple_GET_ITEM(ins, 0));
    long long pscale = PyLong_AsLongLong(PyTuple_GET_ITEM(ins, 1));
    long long qscale = PyLong_AsLongLong(PyTuple_GET_ITEM(ins, 2));
    if (PyErr_Occurred()) { PyErr_Clear(); Py_RETURN_NONE; }
    if (instrument_id < 0) Py_RETURN_NONE;

    /* the terms (engine codes: Side 0 buy 1 sell; OrdType 0 market 1 limit; TIF 0 DAY 1 GTC 2 IOC 3 FOK) */
    char c;
    if (!one_char(v[NV_SIDE], &c) || (c != '1' && c != '2')) Py_RETURN_NONE;
    int side = c == '1' ? 0 : 1;
    if (!one_char(v[NV_ORDTYPE], &c) || (c != '1' && c != '2')) Py_RETURN_NONE;
    int ord_type = c == '1' ? 0 : 1;
    int tif = 0;
    if (v[NV_TIF]) {
        if (!one_char(v[NV_TIF], &c)) Py_RETURN_NONE;
        tif = c == '0' ? 0 : c == '1' ? 1 : c == '3' ? 2 : c == '4' ? 3 : -1;
        if (tif < 0) Py_RETURN_NONE;
    }
    long long qty = plain_units(v[NV_QTY], qscale);
    if (qty < 0) Py_RETURN_NONE;
    long long price = 0;
    if (ord_type == 1 || v[NV_PRICE]) {  /* a limit needs one; a market order's must still be plain */
        price = plain_units(v[NV_PRICE], pscale);
        if (price < 0) Py_RETURN_NONE;
        if (ord_type == 0) price = 0;
    }

    PyObject *cl_ord_id = latin1(v[NV_CLORDID]);
    if (!cl_ord_id) return NULL;
    int dup = duplicate(a[4], a[5], PyTuple_GET_ITEM(acct, 1), cl_ord_id);
    if (dup != 0) { Py_DECREF(cl_ord_id); if (dup < 0) return NULL; Py_RETURN_NONE; }

    /* the NewOrder record (engine/wire.py CMD_LAYOUT): type, side, ord_type, tif, flags, stp,
       pad, seq, ts, order_id, account, instrument, price, qty, stop, display, expire, 2 spare */
    PyObject *record = PyBytes_FromStringAndSize(NULL, NO_RECORD_SIZE);
    if (!record) { Py_DECREF(cl_ord_id); return NULL; }
    unsigned char *w = (unsigned char *)PyBytes_AS_STRING(record);
    memset(w, 0, NO_RECORD_SIZE);
    put_le(w, 9, 2);  /* CmdType.NEW_ORDER */
    w[2] = (unsigned char)side; w[3] = (unsigned char)ord_type; w[4] = (unsigned char)tif;
    w[5] = 0; w[6] = (unsigned char)stp;
    put_le(w + 8, (uint64_t)order_id, 8);
    put_le(w + 16, (uint64_t)now_ns, 8);
    put_le(w + 24, (uint64_t)order_id, 8);
    put_le(w + 32, (uint64_t)account_id, 8);
    put_le(w + 40, (uint64_t)instrument_id, 8);
    put_le(w + 48, (uint64_t)price, 8);
    put_le(w + 56, (uint64_t)qty, 8);

    /* RequestMeta(seq, session, cl_ord_id, orig_cl_ord_id, account, symbol, firm, source,
       side, ord_type, price, qty) */
    PyObject *args[12] = {NULL};
    args[0] = a[2]; Py_INCREF(args[0]);
    args[1] = session; Py_INCREF(session);
    args[2] = cl_ord_id;  /* the reference moves here */
    args[3] = PyUnicode_New(0, 0);
    args[4] = PyTuple_GET_ITEM(acct, 1); Py_INCREF(args[4]);
    args[5] = PyTuple_GET_ITEM(ins, 3); Py_INCREF(args[5]);
    args[6] = PyTuple_GET_ITEM(acct, 2); Py_INCREF(args[6]);
    args[7] = source; Py_INCREF(source);
    args[8] = latin1(v[NV_SIDE]);
    args[9] = latin1(v[NV_ORDTYPE]);
    args[10] = latin1(v[NV_PRICE]);
    args[11] = latin1(v[NV_QTY]);
    PyObject *meta = NULL, *out = NULL;
    int ok = 1;
    for (int i = 0; i < 12; i++) ok &= args[i] != NULL;
    if (ok) meta = PyObject_Vectorcall(meta_type, args, 12, NULL);
    for (int i = 0; i < 12; i++) Py_XDECREF(args[i]);
    if (meta) out = PyTuple_Pack(2, record, meta);
    Py_DECREF(record);
    Py_XDECREF(meta);
    return out;
}


/* cancel_fast(msg, plan, seq, now_ns, inflight, by_cl_ord_id) -> (record, RequestMeta) | None:
   an OrderCancelRequest's translation (requests.cancel, with the application's order lookup
   and duplicate check) in one call: Account(1) as new_order_fast takes it, the live order of
   that account OrigClOrdID(41) names, a ClOrdID(11) not a duplicate; the Cancel command
   record (wire.encode_command's bytes) and the RequestMeta (requests._amend_meta's). Anything
   else (an unknown or finished order, another account's, a duplicate, odd input) is
   declined (None): the Python path then decides, and refuses. The reference is that path:
   tests/property/test_new_order_fast.py. */
/* cancel_fast on arguments fast_args has checked, the seq and time as C values too */
static PyObject *cancel_impl(PyObject *const *a, long long seq, long long now_ns) {
    PyObject *plan = a[1];
    static const long tags[3] = {1, 11, 41};  /* Account, ClOrdID, OrigClOrdID */
    PyObject *v[3];
    if (scan_fields(a[0], tags, 3, NULL, 0, v)) Py_RETURN_NONE;
    PyObject *account_v = v[0], *cl_v = v[1], *orig_v = v[2];
    PyObject *acct = plan_account(plan, account_v);
    if (!acct) { if (PyErr_Occurred()) return NULL; Py_RETURN_NONE; }
    PyObject *code = PyTuple_GET_ITEM(acct, 1);
    long long account_id = PyLong_AsLongLong(PyTuple_GET_ITEM(acct, 0));
    if (PyErr_Occurred()) { PyErr_Clear(); Py_RETURN_NONE; }
    if (account_id < 0) Py_RETURN_NONE;

    PyObject *orig = latin1(orig_v), *cl = NULL, *record = NULL, *out = NULL;
    PyObject *o_account = NULL, *o_live = NULL, *o_id = NULL, *o_symbol = NULL, *o_side = NULL;
    if (!orig) return NULL;
    PyObject *order = book_find(a[5], code, orig);  /* borrowed */
    if (!order) { if (PyErr_Occurred()) goto fail; goto decline; }
    Py_INCREF(order);
    o_account = PyObject_GetAttr(order, fa_account);
    o_live = o_account ? PyObject_GetAttr(order, fa_live) : NULL;
    o_id = o_live ? PyObject_GetAttr(order, fa_order_id) : NULL;
    o_symbol = o_id ? PyObject_GetAttr(order, fa_symbol) : NULL;
    o_side = o_symbol ? PyObject_GetAttr(order, fa_side) : NULL;
    Py_DECREF(order);
    if (!o_side) goto fail;
    if (o_live != Py_True || !PyUnicode_Check(o_account) || !PyLong_Check(o_id)) goto decline;
    int same = PyUnicode_Compare(o_account, code);
    if (same == -1 && PyErr_Occurred()) goto fail;
    if (same != 0) goto decline;
    long long order_id = PyLong_AsLongLong(o_id);
    if (PyErr_Occurred()) { PyErr_Clear(); goto decline; }
    if (order_id < 0) goto decline;
    cl = latin1(cl_v);
    if (!cl) goto fail;
    int dup = duplicate(a[4], a[5], code, cl);
    if (dup < 0) goto fail;
    if (dup) goto decline;

    /* the Cancel record (engine/wire.py CMD_LAYOUT): type, 6 pad, seq, ts, order_id, account, 8 spare */
    record = PyBytes_FromStringAndSize(NULL, NO_RECORD_SIZE);
    if (!record) goto fail;
    unsigned char *w = (unsigned char *)PyBytes_AS_STRING(record);
    memset(w, 0, NO_RECORD_SIZE);
    put_le(w, 10, 2);  /* CmdType.CANCEL */
    put_le(w + 8, (uint64_t)seq, 8);
    put_le(w + 16, (uint64_t)now_ns, 8);
    put_le(w + 24, (uint64_t)order_id, 8);
    put_le(w + 32, (uint64_t)account_id, 8);
    /* RequestMeta(seq, session, cl_ord_id, orig_cl_ord_id, account, symbol, firm, source, side) */
    PyObject *args[9] = {a[2], PyTuple_GET_ITEM(plan, 1), cl, orig, code, o_symbol, PyTuple_GET_ITEM(acct, 2),
                         PyTuple_GET_ITEM(plan, 8), o_side};
    PyObject *meta = PyObject_Vectorcall(PyTuple_GET_ITEM(plan, 7), args, 9, NULL);
    if (!meta) goto fail;
    out = PyTuple_Pack(2, record, meta);
    Py_DECREF(meta);
    goto done;
decline:
    out = Py_None;
    Py_INCREF(out);
    goto done;
fail:
    out = NULL;
done:
    Py_XDECREF(orig); Py_XDECREF(cl); Py_XDECREF(record);
    Py_XDECREF(o_account); Py_XDECREF(o_live); Py_XDECREF(o_id); Py_XDECREF(o_symbol); Py_XDECREF(o_side);
    return out;
}

typedef PyObject *(*fast_impl)(PyObject *const *a, long long id, long long now_ns);

/* The Python entry of a fast translation: its arguments checked (fast_args), then impl. */
static PyObject *fast_entry(PyObject *const *a, Py_ssize_t nargs, const char *usage, fast_impl impl) {
    long long id, now_ns;
    int go = fast_args(a, nargs, usage, &id, &now_ns);
    if (go <= 0) { if (go < 0) return NULL; Py_RETURN_NONE; }
    return impl(a, id, now_ns);
}

static PyObject *new_order_fast(PyObject *self, PyObject *const *a, Py_ssize_t nargs) {
    return fast_entry(a, nargs, "new_order_fast(msg, plan, order_id, now_ns, inflight, by_cl_ord_id)", new_order_impl);
}

static PyObject *cancel_fast(PyObject *self, PyObject *const *a, Py_ssize_t nargs) {
    return fast_entry(a, nargs, "cancel_fast(msg, plan, seq, now_ns, inflight, by_cl_ord_id)", cancel_impl);
}

/* ----------------------------------------------------------------------------- event records */

static inline uint64_t rd_le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

#define EV_FIELDS_MAX 24

/* ----------------------------------------------------------------------------- order book fold */

/* fold_events(book, ctx, evt_seq, body, metas) -> [Report, ...]: OrderBook.apply over an
   event batch's body (its reference: the Python handlers, tests/property/test_fold_events.py),
   with the three events of nearly every request done here: OrderAccepted, Trade, and an
   OrderCanceled / OrderExpired that ends the order. Every other event the book folds is
   decoded (by ctx's table: events.EVENT_TABLE) and handed to its Python handler, as is any of the three
   this code does not take as it comes (an unknown side, a partial cancel, a value past 64
   bits): before calling one, book._n is set to the count here, and read back after, and
   book.orders / live_by_id / by_cl_ord_id are read again for every event (end_of_day
   replaces them). The caller (OrderBook.apply_body) has set book._evt_seq, _n = 0 and _tt.

   ctx (OrderBook._fold_context): (events.EVENT_TABLE, {type: handler}, Order, Report,
   ShardedDict, {instrument_id: (spec, price scale, qty scale, quote scale)}, the
   instruments_by_id it was built from, sides ("1", "2"), {ord_type code: OrdType},
   {tif code: TimeInForce}, {CancelReason: text}, {meta.source: text}, CancelReason's USER,
   DAY_EXPIRED and GTD_EXPIRED, the refdata). */

enum { FX_TABLE, FX_HANDLERS, FX_ORDER, FX_REPORT, FX_SHARDED, FX_SCALES, FX_BY_ID, FX_SIDES, FX_ORD_TYPES, FX_TIFS,
       FX_CANCEL_TEXT, FX_SOURCE_TEXT, FX_USER, FX_DAY, FX_GTD, FX_REFDATA, FX_SIZE };

typedef struct {
    PyObject *book, *ctx, *metas, *out, *evt_seq_o, *tt, *reported, *fix44_map;
    long long evt_seq, n;
    const char *ttp;
    Py_ssize_t ttl;
} fold_t;

/* OrderBook._name: by_cl_ord_id[o.account][o.cl_ord_id] = o */
static int fold_name(fold_t *f, PyObject *o) {
    PyObject *by = PyObject_GetAttr(f->book, fa_by_cl_ord_id);
    if (!by) return -1;
    int rc = -1;
    PyObject *account = PyObject_GetAttr(o, fa_account), *cl = account ? PyObject_GetAttr(o, fa_cl_ord_id) : NULL;
    if (cl && PyDict_Check(by)) {
        PyObject *named = PyDict_GetItemWithError(by, account);
        if (named) Py_INCREF(named);
        else if (!PyErr_Occurred()) {
            named = PyObject_CallNoArgs(PyTuple_GET_ITEM(f->ctx, FX_SHARDED));
            if (named && PyDict_SetItem(by, account, named) < 0) Py_CLEAR(named);
        }
        if (named) {
            PyObject *shard = shard_of(named, cl);
            rc = shard ? PyDict_SetItem(shard, cl, o) : -1;
            Py_DECREF(named);
        }
    } else if (cl) PyErr_SetString(PyExc_TypeError, "OrderBook.by_cl_ord_id: a dict expected");
    Py_XDECREF(account); Py_XDECREF(cl); Py_DECREF(by);
    return rc;
}

/* an attribute as a long long: 0 ok, 1 past 64 bits (no error set), -1 error */
static int attr_ll(PyObject *o, PyObject *name, long long *v) {
    PyObject *x = PyObject_GetAttr(o, name);
    if (!x) return -1;
    int overflow = 0;
    *v = PyLong_Check(x) ? PyLong_AsLongLongAndOverflow(x, &overflow) : -1;
    int bad = !PyLong_Check(x);
    Py_DECREF(x);
    if (bad) { PyErr_SetString(PyExc_TypeError, "int attribute expected"); return -1; }
    if (*v == -1 && PyErr_Occurred()) return -1;
    return overflow ? 1 : 0;
}

static int set_attr_ll(PyObject *o, PyObject *name, long long v) {
    PyObject *x = PyLong_FromLongLong(v);
    if (!x) return -1;
    int rc = PyObject_SetAttr(o, name, x);
    Py_DECREF(x);
    return rc;
}

/* Report(session, msg_type, fields, evt_seq) (a NamedTuple: a tuple subclass without slots of
   its own) made as tuple.__new__ makes it, without the Python __new__ NamedTuple generates;
   any other class is called. New reference. */
static PyObject *new_report(PyObject *cls, PyObject *session, PyObject *msg_type, PyObject *fields, PyObject *evt_seq) {
    PyTypeObject *t = (PyTypeObject *)cls;
    if (PyType_Check(cls) && PyType_IsSubtype(t, &PyTuple_Type) && t->tp_itemsize == sizeof(PyObject *)
        && t->tp_basicsize == PyTuple_Type.tp_basicsize && t->tp_alloc) {
        PyObject *r = t->tp_alloc(t, 4);
        if (!r) return NULL;
        PyObject *items[4] = {session, msg_type, fields, evt_seq};
        for (int i = 0; i < 4; i++) { Py_INCREF(items[i]); PyTuple_SET_ITEM(r, i, items[i]); }
        return r;
    }
    PyObject *args[4] = {session, msg_type, fields, evt_seq};
    return PyObject_Vectorcall(cls, args, 4, NULL);
}

/* OrderBook._er for an order's ExecutionReport; 1 when it cannot be made here (a value past
   64 bits, an odd status): nothing done, the caller hands the event to Python. */
static int fold_er(fold_t *f, PyObject *o, char exec_type, PyObject *orig, PyObject *text, long long lpx, long long lqty,
                   int has_comm, long long comm, const char *liq, int aggressor) {
    long long leaves, cum, cval;
    int r;
    if ((r = attr_ll(o, fa_leaves, &leaves)) || (r = attr_ll(o, fa_cum_qty, &cum)) || (r = attr_ll(o, fa_cum_value, &cval)))
        return r;
    PyObject *session = PyObject_GetAttr(o, fa_session);
    if (!session) return -1;
    PyObject *status = NULL, *head = NULL, *terms = NULL, *spec = NULL, *iid = NULL, *avg_o = NULL, *report = NULL;
    int rc = -1;
    f->n += 1;
    if (!PyUnicode_Check(session) || PyUnicode_GET_LENGTH(session) == 0) { rc = 0; goto done; }
    if (f->evt_seq > 0) {
        PyObject *rep = PyDict_GetItemWithError(f->reported, session);
        if (!rep && PyErr_Occurred()) goto done;
        long long upto = rep ? PyLong_AsLongLong(rep) : 0;
        if (upto == -1 && PyErr_Occurred()) goto done;
        if (f->evt_seq <= upto) { rc = 0; goto done; }  /* handed over before this process started */
    }
    PyObject *fix44 = PyDict_GetItemWithError(f->fix44_map, session);  /* borrowed */
    if (!fix44) {
        if (PyErr_Occurred()) goto done;
        PyObject *fn = PyObject_GetAttr(f->book, fa_fix44);
        PyObject *v = fn ? PyObject_CallOneArg(fn, session) : NULL;
        Py_XDECREF(fn);
        if (!v) goto done;
        int t = PyObject_IsTrue(v);
        Py_DECREF(v);
        if (t < 0 || PyDict_SetItem(f->fix44_map, session, t ? Py_True : Py_False) < 0) goto done;
        fix44 = t ? Py_True : Py_False;
    }
    int is44 = fix44 == Py_True;
    /* scales of the order's instrument */
    spec = PyObject_GetAttr(o, fa_spec);
    iid = spec ? PyObject_GetAttr(spec, fa_instrument_id) : NULL;
    if (!iid) goto done;
    PyObject *sc = PyDict_GetItemWithError(PyTuple_GET_ITEM(f->ctx, FX_SCALES), iid);
    if (!sc) { if (!PyErr_Occurred()) { f->n -= 1; rc = 1; } goto done; }
    if (!PyTuple_Check(sc) || PyTuple_GET_SIZE(sc) != 4 || PyTuple_GET_ITEM(sc, 0) != spec) { f->n -= 1; rc = 1; goto done; }
    long long ps = PyLong_AsLongLong(PyTuple_GET_ITEM(sc, 1)), qs = PyLong_AsLongLong(PyTuple_GET_ITEM(sc, 2)),
              quote = PyLong_AsLongLong(PyTuple_GET_ITEM(sc, 3));
    if (PyErr_Occurred()) goto done;
    status = PyObject_GetAttr(o, fa_status);
    if (!status) goto done;
    if (!PyUnicode_Check(status) || PyUnicode_GET_LENGTH(status) != 1 || PyUnicode_READ_CHAR(status, 0) > 127) {
        f->n -= 1; rc = 1; goto done;
    }
    char st = (char)PyUnicode_READ_CHAR(status, 0);
    /* head: OrderID(37), ClOrdID(11), encoded once per order (Order.encode_head) */
    head = PyObject_GetAttr(o, fa_head);
    if (!head || !PyBytes_Check(head)) { if (head) PyErr_SetString(PyExc_TypeError, "Order.head: bytes expected"); goto done; }
    if (PyBytes_GET_SIZE(head) == 0) {
        PyObject *oid = PyObject_GetAttr(o, fa_order_id), *cl = oid ? PyObject_GetAttr(o, fa_cl_ord_id) : NULL;
        const char *clp = NULL;
        Py_ssize_t cll = 0;
        if (cl && PyUnicode_Check(cl)) clp = PyUnicode_AsUTF8AndSize(cl, &cll);
        if (clp && PyLong_Check(oid)) {
            Py_CLEAR(head);
            PyObject *idtxt = PyObject_Str(oid);
            Py_ssize_t il = 0;
            const char *idp = idtxt ? PyUnicode_AsUTF8AndSize(idtxt, &il) : NULL;
            if (idp) head = PyBytes_FromStringAndSize(NULL, 3 + il + 1 + 3 + cll + 1);
            if (head) {
                char *w = PyBytes_AS_STRING(head);
                memcpy(w, "37=", 3); memcpy(w + 3, idp, (size_t)il); w[3 + il] = '\x01';
                memcpy(w + 4 + il, "11=", 3); memcpy(w + 7 + il, clp, (size_t)cll); w[7 + il + cll] = '\x01';
            }
            Py_XDECREF(idtxt);
            if (head && PyObject_SetAttr(o, fa_head, head) < 0) Py_CLEAR(head);
        } else if (cl || oid) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "Order.order_id / cl_ord_id: int / str expected");
        }
        Py_XDECREF(oid); Py_XDECREF(cl);
        if (!head) goto done;
    }
    terms = PyObject_GetAttr(o, fa_terms);
    if (!terms || !PyBytes_Check(terms)) { if (terms) PyErr_SetString(PyExc_TypeError, "Order.terms: bytes expected"); goto done; }
    if (PyBytes_GET_SIZE(terms) == 0) {  /* Order.encode_terms, its er_terms call made here */
        Py_CLEAR(terms);
        static const char *names[8] = {"account", "symbol", "side", "qty", "ord_type", "price", "stop_price", "tif"};
        static PyObject *interned[8];
        PyObject *v[8] = {NULL};
        int got = 1;
        for (int i = 0; i < 8 && got; i++) {
            if (!interned[i] && !(interned[i] = PyUnicode_InternFromString(names[i]))) got = 0;
            else got = (v[i] = PyObject_GetAttr(o, interned[i])) != NULL;
        }
        if (got) {
            PyObject *ta[10] = {v[0], v[1], v[2], v[3], PyTuple_GET_ITEM(sc, 2), v[4], v[5], PyTuple_GET_ITEM(sc, 1), v[6], v[7]};
            terms = er_terms(NULL, ta, 10);
            if (!terms && PyErr_ExceptionMatches(PyExc_OverflowError)) {  /* past 64 bits: the reference */
                PyErr_Clear();
                terms = PyObject_CallMethodNoArgs(o, fa_encode_terms);
            } else if (terms && PyObject_SetAttr(o, fa_terms, terms) < 0) Py_CLEAR(terms);
        }
        for (int i = 0; i < 8; i++) Py_XDECREF(v[i]);
        if (!terms || !PyBytes_Check(terms)) { if (terms) PyErr_SetString(PyExc_TypeError, "Order.encode_terms: bytes expected"); goto done; }
    }
    const char *avgp = NULL;
    Py_ssize_t avgl = 0;
    if (cum != 0 && cval % cum != 0) {  /* not a whole number of price units: the Decimal way */
        avg_o = PyObject_CallMethodNoArgs(o, fa_avg_px_text);
        if (!avg_o || !(avgp = PyUnicode_AsUTF8AndSize(avg_o, &avgl))) goto done;
    }
    const char *origp = "", *textp = "";
    Py_ssize_t origl = 0, textl = 0;
    if (orig && !(origp = PyUnicode_AsUTF8AndSize(orig, &origl))) goto done;
    if (text && !(textp = PyUnicode_AsUTF8AndSize(text, &textl))) goto done;
    char et = exec_type == 'L' && is44 ? 'D' : exec_type;
    PyObject *body = er_compose(PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head), origp, origl, f->evt_seq, f->n, &et, 1,
                                &st, 1, PyBytes_AS_STRING(terms), PyBytes_GET_SIZE(terms), lpx, lqty, ps, qs, leaves, cum,
                                avgp, avgl, cval, has_comm, comm, quote, textp, textl, f->ttp, f->ttl, liq,
                                liq ? (Py_ssize_t)strlen(liq) : 0, aggressor < 0 || is44 ? -1 : aggressor);
    if (!body) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError)) { PyErr_Clear(); f->n -= 1; rc = 1; }
        goto done;
    }
    PyObject *pair = PyTuple_Pack(2, fi_zero, body);
    Py_DECREF(body);
    PyObject *fields = pair ? PyList_New(1) : NULL;
    if (!fields) { Py_XDECREF(pair); goto done; }
    PyList_SET_ITEM(fields, 0, pair);
    report = new_report(PyTuple_GET_ITEM(f->ctx, FX_REPORT), session, fs_8, fields, f->evt_seq_o);
    Py_DECREF(fields);
    if (!report || PyList_Append(f->out, report) < 0) goto done;
    rc = 0;
done:
    if (rc == 0) {  /* its last report: the encoded parts would only hold memory all day */
        PyObject *live = PyObject_GetAttr(o, fa_live);
        if (!live) rc = -1;
        else {
            if (live == Py_False && (PyObject_SetAttr(o, fa_head, fb_empty) < 0 || PyObject_SetAttr(o, fa_terms, fb_empty) < 0))
                rc = -1;
            Py_DECREF(live);
        }
    }
    Py_XDECREF(session); Py_XDECREF(status); Py_XDECREF(head); Py_XDECREF(terms); Py_XDECREF(spec);
    Py_XDECREF(iid); Py_XDECREF(avg_o); Py_XDECREF(report);
    return rc;
}
static PyObject *fa_er, *fa_er_kwnames;

/* book._n from the count here, or the count here from book._n */
static int sync_n_out(fold_t *f) { return set_attr_ll(f->book, fa_n, f->n); }
static int sync_n_in(fold_t *f) { return attr_ll(f->book, fa_n, &f->n) == 0 ? 0 : -1; }

/* fold_er, or OrderBook._er itself when fold_er cannot make the report */
static int fold_report(fold_t *f, PyObject *o, char exec_type, PyObject *orig, PyObject *text, long long lpx, long long lqty,
                       int has_comm, long long comm, const char *liq, int aggressor) {
    int r = fold_er(f, o, exec_type, orig, text, lpx, lqty, has_comm, comm, liq, aggressor);
    if (r <= 0) return r;
    if (!fa_er_kwnames) {
        if (!fa_er && !(fa_er = PyUnicode_InternFromString("_er"))) return -1;
        fa_er_kwnames = Py_BuildValue("(ssssss)", "text", "last_px", "last_qty", "commission", "last_liquidity", "aggressor");
        if (!fa_er_kwnames) return -1;
    }
    if (sync_n_out(f) < 0) return -1;
    PyObject *et = PyUnicode_FromStringAndSize(&exec_type, 1), *px = PyLong_FromLongLong(lpx), *qty = PyLong_FromLongLong(lqty);
    PyObject *cm = has_comm ? PyLong_FromLongLong(comm) : Py_NewRef(Py_None);
    PyObject *lq = PyUnicode_FromString(liq ? liq : "");
    PyObject *ag = aggressor < 0 ? Py_NewRef(Py_None) : PyBool_FromLong(aggressor);
    PyObject *res = NULL;
    if (et && px && qty && cm && lq && ag) {
        PyObject *args[11] = {f->book, o, et, f->out, orig ? orig : fs_empty, text ? text : fs_empty, px, qty, cm, lq, ag};
        PyObject *method = PyObject_GetAttr((PyObject *)Py_TYPE(f->book), fa_er);
        if (method) res = PyObject_Vectorcall(method, args, 5, fa_er_kwnames);
        Py_XDECREF(method);
    }
    Py_XDECREF(et); Py_XDECREF(px); Py_XDECREF(qty); Py_XDECREF(cm); Py_XDECREF(lq); Py_XDECREF(ag);
    if (!res) return -1;
    Py_DECREF(res);
    return sync_n_in(f);
}

/* the order the book holds under an id (book.orders.get): new reference, NULL (no error) if none */
static PyObject *fold_order(fold_t *f, PyObject *order_id) {
    PyObject *orders = PyObject_GetAttr(f->book, fa_orders);
    if (!orders) return NULL;
    PyObject *shard = shard_of(orders, order_id), *o = NULL;
    if (shard) { o = PyDict_GetItemWithError(shard, order_id); Py_XINCREF(o); }
    Py_DECREF(orders);
    return o;
}

static int fold_unlive(fold_t *f, PyObject *o, PyObject *order_id) {
    if (PyObject_SetAttr(o, fa_live, Py_False) < 0) return -1;
    PyObject *live = PyObject_GetAttr(f->book, fa_live_by_id);
    if (!live) return -1;
    int rc = 0;
    if (PyDict_Check(live)) {
        if (PyDict_DelItem(live, order_id) < 0) {
            if (PyErr_ExceptionMatches(PyExc_KeyError)) PyErr_Clear();
            else rc = -1;
        }
    } else { PyErr_SetString(PyExc_TypeError, "OrderBook.live_by_id: a dict expected"); rc = -1; }
    Py_DECREF(live);
    return rc;
}

/* _accepted: 0 done, 1 for Python, -1 error */
static int fold_accepted(fold_t *f, const unsigned char *r, PyObject *meta) {
    int side = (int)(rd_le(r + 32, 8) & 255), ot = (int)((rd_le(r + 32, 8) >> 8) & 255), tf = (int)((rd_le(r + 32, 8) >> 16) & 255);
    if (side > 1) return 1;  /* _SIDE[...] raises there */
    PyObject *refdata = PyTuple_GET_ITEM(f->ctx, FX_REFDATA);
    PyObject *iid = PyLong_FromUnsignedLong((unsigned long)rd_le(r + 4, 4)), *aid = PyLong_FromUnsignedLongLong(rd_le(r + 24, 8));
    PyObject *by_account = PyObject_GetAttr(refdata, fa_accounts_by_id);
    PyObject *spec = NULL, *acct = NULL, *code = NULL, *symbol = NULL, *oid = NULL, *session = NULL, *cl = NULL;
    PyObject *price = NULL, *stop = NULL, *qty = NULL, *o = NULL, *orders = NULL, *live = NULL;
    int rc = -1;
    if (!iid || !aid || !by_account) goto done;
    if (!PyDict_Check(by_account) || !PyDict_Check(PyTuple_GET_ITEM(f->ctx, FX_BY_ID))) { rc = 1; goto done; }
    spec = PyDict_GetItemWithError(PyTuple_GET_ITEM(f->ctx, FX_BY_ID), iid);
    acct = spec ? PyDict_GetItemWithError(by_account, aid) : NULL;
    if (!spec || !acct) { if (!PyErr_Occurred()) rc = 0; spec = acct = NULL; goto done; }  /* not loaded here yet */
    Py_INCREF(spec); Py_INCREF(acct);
    code = PyObject_GetAttr(acct, fa_code);
    symbol = code ? PyObject_GetAttr(spec, fa_symbol) : NULL;
    oid = symbol ? PyLong_FromUnsignedLongLong(rd_le(r + 16, 8)) : NULL;
    if (!oid) goto done;
    if (meta) {
        session = PyObject_GetAttr(meta, fa_session);
        cl = session ? PyObject_GetAttr(meta, fa_cl_ord_id) : NULL;
    } else {
        session = Py_NewRef(fs_empty);
        cl = PyObject_Str(oid);
    }
    price = cl ? PyLong_FromLongLong((long long)rd_le(r + 40, 8)) : NULL;
    qty = price ? PyLong_FromLongLong((long long)rd_le(r + 48, 8)) : NULL;
    stop = qty ? PyLong_FromLongLong((long long)rd_le(r + 56, 8)) : NULL;
    if (!stop) goto done;
    PyObject *ot_s = ot < 4 ? PyTuple_GET_ITEM(PyTuple_GET_ITEM(f->ctx, FX_ORD_TYPES), ot) : PyTuple_GET_ITEM(PyTuple_GET_ITEM(f->ctx, FX_ORD_TYPES), 1);
    PyObject *tif_s = tf < 5 ? PyTuple_GET_ITEM(PyTuple_GET_ITEM(f->ctx, FX_TIFS), tf) : PyTuple_GET_ITEM(PyTuple_GET_ITEM(f->ctx, FX_TIFS), 0);
    PyObject *args[13] = {oid, session, code, symbol, spec, PyTuple_GET_ITEM(PyTuple_GET_ITEM(f->ctx, FX_SIDES), side),
                          ot_s, tif_s, cl, price, stop, qty, qty};
    o = PyObject_Vectorcall(PyTuple_GET_ITEM(f->ctx, FX_ORDER), args, 13, NULL);
    if (!o) goto done;
    orders = PyObject_GetAttr(f->book, fa_orders);
    PyObject *shard = orders ? shard_of(orders, oid) : NULL;
    if (!shard || PyDict_SetItem(shard, oid, o) < 0) goto done;
    live = PyObject_GetAttr(f->book, fa_live_by_id);
    if (!live || !PyDict_Check(live)) { if (live) PyErr_SetString(PyExc_TypeError, "OrderBook.live_by_id: a dict expected"); goto done; }
    if (PyDict_SetItem(live, oid, o) < 0 || fold_name(f, o) < 0) goto done;
    rc = fold_report(f, o, '0', NULL, NULL, 0, 0, 0, 0, NULL, -1);
done:
    Py_XDECREF(iid); Py_XDECREF(aid); Py_XDECREF(by_account); Py_XDECREF(spec); Py_XDECREF(acct); Py_XDECREF(code);
    Py_XDECREF(symbol); Py_XDECREF(oid); Py_XDECREF(session); Py_XDECREF(cl); Py_XDECREF(price); Py_XDECREF(stop);
    Py_XDECREF(qty); Py_XDECREF(o); Py_XDECREF(orders); Py_XDECREF(live);
    return rc;
}

/* _trade: both sides (fills of orders this book does not hold are skipped) */
static int fold_trade(fold_t *f, const unsigned char *r) {
    long long price = (long long)rd_le(r + 56, 8), qty = (long long)rd_le(r + 64, 8);
    for (int side = 0; side < 2; side++) {  /* maker, then taker */
        PyObject *oid = PyLong_FromUnsignedLongLong(rd_le(r + (side ? 32 : 24), 8));
        if (!oid) return -1;
        long long fee = (long long)rd_le(r + (side ? 80 : 72), 8), leaves = (long long)rd_le(r + (side ? 96 : 88), 8);
        PyObject *o = fold_order(f, oid);
        if (!o) { Py_DECREF(oid); if (PyErr_Occurred()) return -1; continue; }
        int rc = -1;
        PyObject *cum = PyObject_GetAttr(o, fa_cum_qty), *cval = cum ? PyObject_GetAttr(o, fa_cum_value) : NULL;
        PyObject *q = cval ? PyLong_FromLongLong(qty) : NULL, *px = q ? PyLong_FromLongLong(price) : NULL;
        PyObject *value = px ? PyNumber_Multiply(px, q) : NULL;
        PyObject *cum2 = value ? PyNumber_Add(cum, q) : NULL, *cval2 = cum2 ? PyNumber_Add(cval, value) : NULL;
        if (cval2 && PyObject_SetAttr(o, fa_cum_qty, cum2) == 0 && PyObject_SetAttr(o, fa_cum_value, cval2) == 0
            && set_attr_ll(o, fa_leaves, leaves) == 0) {
            if (leaves == 0)
                rc = PyObject_SetAttr(o, fa_status, fs_status_2) < 0 || fold_unlive(f, o, oid) < 0 ? -1 : 0;
            else
                rc = PyObject_SetAttr(o, fa_status, fs_status_1);
            if (rc == 0) rc = fold_report(f, o, 'F', NULL, NULL, price, qty, 1, fee, side ? "2" : "1", side ? 1 : 0);
        }
        Py_XDECREF(cum); Py_XDECREF(cval); Py_XDECREF(q); Py_XDECREF(px); Py_XDECREF(value); Py_XDECREF(cum2); Py_XDECREF(cval2);
        Py_DECREF(o); Py_DECREF(oid);
        if (rc < 0) return -1;
    }
    return 0;
}

/* _canceled for an order it ends (leaves 0): 0 done, 1 for Python (a partial cancel), -1 error */
static int fold_canceled(fold_t *f, const unsigned char *r, int expired_type, PyObject *meta) {
    long long reason = (long long)rd_le(r + 32, 8), leaves = (long long)rd_le(r + 48, 8);
    if (leaves != 0) return 1;
    PyObject *oid = PyLong_FromUnsignedLongLong(rd_le(r + 16, 8));
    if (!oid) return -1;
    PyObject *o = fold_order(f, oid);
    if (!o) { Py_DECREF(oid); return PyErr_Occurred() ? -1 : 0; }
    PyObject *orig = NULL, *text = NULL, *reason_o = NULL, *mcl = NULL, *morig = NULL, *source = NULL;
    int rc = -1;
    long long user = PyLong_AsLongLong(PyTuple_GET_ITEM(f->ctx, FX_USER)), day = PyLong_AsLongLong(PyTuple_GET_ITEM(f->ctx, FX_DAY)),
              gtd = PyLong_AsLongLong(PyTuple_GET_ITEM(f->ctx, FX_GTD));
    if (PyErr_Occurred()) goto done;
    if (set_attr_ll(o, fa_leaves, 0) < 0 || fold_unlive(f, o, oid) < 0) goto done;
    int expired = expired_type || reason == day || reason == gtd;
    if (PyObject_SetAttr(o, fa_status, expired ? fs_status_c : fs_status_4) < 0) goto done;
    if (meta && reason == user) {
        mcl = PyObject_GetAttr(meta, fa_cl_ord_id);
        morig = mcl ? PyObject_GetAttr(meta, fa_orig_cl_ord_id) : NULL;
        if (!morig) goto done;
        int t1 = PyObject_IsTrue(mcl), t2 = t1 > 0 ? PyObject_IsTrue(morig) : 0;
        if (t1 < 0 || t2 < 0) goto done;
        if (t1 && t2) {
            orig = PyObject_GetAttr(o, fa_cl_ord_id);
            if (!orig || PyObject_SetAttr(o, fa_cl_ord_id, mcl) < 0 || PyObject_SetAttr(o, fa_head, fb_empty) < 0
                || fold_name(f, o) < 0)
                goto done;
        }
    }
    reason_o = PyLong_FromLongLong(reason);
    if (!reason_o) goto done;
    text = PyDict_GetItemWithError(PyTuple_GET_ITEM(f->ctx, FX_CANCEL_TEXT), reason_o);
    if (!text && PyErr_Occurred()) goto done;
    Py_XINCREF(text);
    if (meta) {
        source = PyObject_GetAttr(meta, fa_source);
        if (!source) goto done;
        PyObject *t = PyDict_GetItemWithError(PyTuple_GET_ITEM(f->ctx, FX_SOURCE_TEXT), source);
        if (!t && PyErr_Occurred()) goto done;
        if (t) { Py_INCREF(t); Py_XSETREF(text, t); }
    }
    rc = fold_report(f, o, expired ? 'C' : '4', orig, text, 0, 0, 0, 0, NULL, -1);
done:
    Py_XDECREF(orig); Py_XDECREF(text); Py_XDECREF(reason_o); Py_XDECREF(mcl); Py_XDECREF(morig); Py_XDECREF(source);
    Py_DECREF(o); Py_DECREF(oid);
    return rc;
}

/* the event object of a record, decoded by its entry in events.EVENT_TABLE: (class, record
   size, codes), one code per field of the class, in declaration order, where code & 3 is 0 a
   signed word, 1 an unsigned word, 2 a byte of an unsigned word ("info"), 3 the header's seq
   (word 0) or instrument (word 1); (code >> 2) & 255 the word, code >> 10 the byte.
   New reference. */
static PyObject *decode_record(PyObject *entry, const unsigned char *r, long size) {
    PyObject *codes = PyTuple_GET_ITEM(entry, 2);
    Py_ssize_t nf = PyTuple_GET_SIZE(codes);
    PyObject *args[EV_FIELDS_MAX];
    Py_ssize_t made = 0;
    if (nf > EV_FIELDS_MAX) { PyErr_SetString(PyExc_TypeError, "too many fields"); return NULL; }
    for (; made < nf; made++) {
        long code = PyLong_AsLong(PyTuple_GET_ITEM(codes, made));
        long kind = code & 3, word = (code >> 2) & 255, byte = code >> 10;
        PyObject *v = NULL;
        if (code < 0 || (kind != 3 && 16 + 8 * word + 8 > size)) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "fold_events: bad field code");
        } else if (kind == 0) v = PyLong_FromLongLong((long long)rd_le(r + 16 + 8 * word, 8));
        else if (kind == 1) v = PyLong_FromUnsignedLongLong(rd_le(r + 16 + 8 * word, 8));
        else if (kind == 2) v = PyLong_FromLong((long)((rd_le(r + 16 + 8 * word, 8) >> (8 * byte)) & 255));
        else v = word == 0 ? PyLong_FromUnsignedLongLong(rd_le(r + 8, 8)) : PyLong_FromUnsignedLong((unsigned long)rd_le(r + 4, 4));
        if (!v) break;
        args[made] = v;
    }
    PyObject *ev = made == nf ? PyObject_Vectorcall(PyTuple_GET_ITEM(entry, 0), args, (size_t)nf, NULL) : NULL;
    for (Py_ssize_t i = 0; i < made; i++) Py_DECREF(args[i]);
    return ev;
}

enum { EV_ACCEPTED = 1, EV_TRADE = 3, EV_CANCELED = 4, EV_EXPIRED = 6 };

static PyObject *fold_events(PyObject *self, PyObject *const *a, Py_ssize_t nargs) {
    if (nargs != 5 || !PyTuple_Check(a[1]) || PyTuple_GET_SIZE(a[1]) != FX_SIZE || !PyLong_Check(a[2])
        || !PyBytes_Check(a[3]) || !PyDict_Check(a[4])) {
        PyErr_SetString(PyExc_TypeError, "fold_events(book, ctx, evt_seq, body: bytes, metas: dict)");
        return NULL;
    }
    if (intern_names() < 0) return NULL;
    fold_t f = {.book = a[0], .ctx = a[1], .metas = a[4], .evt_seq_o = a[2]};
    f.evt_seq = PyLong_AsLongLong(a[2]);
    if (f.evt_seq == -1 && PyErr_Occurred()) return NULL;
    PyObject *table = PyTuple_GET_ITEM(a[1], FX_TABLE), *handlers = PyTuple_GET_ITEM(a[1], FX_HANDLERS);
    if (!PyTuple_Check(table) || !PyDict_Check(handlers)) { PyErr_SetString(PyExc_TypeError, "fold_events: bad ctx"); return NULL; }
    f.tt = PyObject_GetAttr(a[0], fa_tt);
    f.reported = f.tt ? PyObject_GetAttr(a[0], fa_reported) : NULL;
    f.fix44_map = f.reported ? PyObject_GetAttr(a[0], fa_fix44_map) : NULL;
    f.out = f.fix44_map ? PyList_New(0) : NULL;
    if (!f.out) goto fail;
    if (!PyBytes_Check(f.tt) || !PyDict_Check(f.reported) || !PyDict_Check(f.fix44_map)) {
        PyErr_SetString(PyExc_TypeError, "fold_events: OrderBook._tt / reported / _fix44 of the wrong type");
        goto fail;
    }
    f.ttp = PyBytes_AS_STRING(f.tt); f.ttl = PyBytes_GET_SIZE(f.tt);
    if (sync_n_in(&f) < 0) goto fail;
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(a[3]);
    Py_ssize_t n = PyBytes_GET_SIZE(a[3]), off = 0, ntypes = PyTuple_GET_SIZE(table);
    while (off < n) {
        long t = n - off >= 4 ? (long)rd_le(p + off, 2) : -1, size = n - off >= 4 ? (long)rd_le(p + off + 2, 2) : 0;
        if (size < 16 || off + size > n) {
            PyErr_Format(PyExc_ValueError, "bad event size %ld at offset %zd", size, off);
            goto fail;
        }
        PyObject *entry = t >= 0 && t < ntypes ? PyTuple_GET_ITEM(table, t) : Py_None;
        if (entry != Py_None) {
            long want;
            if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 3 || !PyTuple_Check(PyTuple_GET_ITEM(entry, 2))
                || (want = PyLong_AsLong(PyTuple_GET_ITEM(entry, 1))) < 0) {
                if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "fold_events: bad table entry");
                goto fail;
            }
            if (size != want) {
                PyErr_Format(PyExc_ValueError, "bad event record at offset %zd: type %ld size %ld", off, t, size);
                goto fail;
            }
            const unsigned char *r = p + off;
            PyObject *seq = PyLong_FromUnsignedLongLong(rd_le(r + 8, 8));
            if (!seq) goto fail;
            PyObject *meta = PyDict_GetItemWithError(f.metas, seq);  /* borrowed */
            if (!meta && PyErr_Occurred()) { Py_DECREF(seq); goto fail; }
            int done = 1;
            if (t == EV_ACCEPTED) done = fold_accepted(&f, r, meta);
            else if (t == EV_TRADE) done = fold_trade(&f, r);
            else if (t == EV_CANCELED || t == EV_EXPIRED) done = fold_canceled(&f, r, t == EV_EXPIRED, meta);
            if (done == 1) {  /* its Python handler */
                PyObject *ev = decode_record(entry, r, size);
                PyObject *handler = ev ? PyDict_GetItemWithError(handlers, (PyObject *)Py_TYPE(ev)) : NULL;
                if (ev && handler) {
                    PyObject *args[4] = {f.book, ev, meta ? meta : Py_None, f.out};
                    PyObject *res = sync_n_out(&f) < 0 ? NULL : PyObject_Vectorcall(handler, args, 4, NULL);
                    done = res && sync_n_in(&f) == 0 ? 0 : -1;
                    Py_XDECREF(res);
                } else done = ev && !PyErr_Occurred() ? 0 : -1;
                Py_XDECREF(ev);
            }
            Py_DECREF(seq);
            if (done < 0) goto fail;
        }
        off += size;
    }
    if (sync_n_out(&f) < 0) goto fail;
    Py_DECREF(f.tt); Py_DECREF(f.reported); Py_DECREF(f.fix44_map);
    return f.out;
fail:
    Py_XDECREF(f.tt); Py_XDECREF(f.reported); Py_XDECREF(f.fix44_map); Py_XDECREF(f.out);
    return NULL;
}

/* ----------------------------------------------------------------------------- session check */

/* UTCTimestamp "YYYYMMDD-HH:MM:SS[.f{1,9}]" -> ns since the epoch, or -1. Years 1970-2999
   and seconds 0-59 only: anything else (the Python parser also takes leap seconds and older
   years) is declined, and session_check then leaves the message to the Python path. */
static int64_t utc_ns(const char *p, Py_ssize_t n) {
    if (n < 17 || p[8] != '-' || p[11] != ':' || p[14] != ':') return -1;
    static const int digit_at[14] = {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 12, 13, 15, 16};
    for (int k = 0; k < 14; k++)
        if (p[digit_at[k]] < '0' || p[digit_at[k]] > '9') return -1;
#define D2(i) ((p[i] - '0') * 10 + (p[(i) + 1] - '0'))
    int y = D2(0) * 100 + D2(2), mo = D2(4), d = D2(6), h = D2(9), mi = D2(12), sec = D2(15);
#undef D2
    if (y < 1970 || y > 2999 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return -1;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap)) return -1;
    int64_t frac = 0;
    if (n > 17) {
        Py_ssize_t digits = n - 18;
        if (p[17] != '.' || digits < 1 || digits > 9) return -1;
        for (Py_ssize_t k = 18; k < n; k++) {
            if (p[k] < '0' || p[k] > '9') return -1;
            frac = frac * 10 + (p[k] - '0');
        }
        for (Py_ssize_t k = digits; k < 9; k++) frac *= 10;
    }
    /* days from the civil date (H. Hinnant's days_from_civil) */
    int yy = mo <= 2 ? y - 1 : y;
    int era = yy / 400, yoe = yy - era * 400;
    int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    return ((days * 86400 + h * 3600 + mi * 60 + sec) * 1000000000LL) + frac;
}

static int same_bytes(PyObject *v, PyObject *want) {
    Py_ssize_t n = PyBytes_GET_SIZE(want);
    return PyBytes_Check(v) && PyBytes_GET_SIZE(v) == n && memcmp(PyBytes_AS_STRING(v), PyBytes_AS_STRING(want), n) == 0;
}

/* session_check(msg, begin_string, their_comp_id, our_comp_id, expected_seq, now_ns,
   max_latency_ns) -> expected_seq | 0: whether a message to a logged-on session passes every
   check InSession.on_message makes before handing an application message on in order:
   BeginString(8) the session's, MsgType(35) none of the session's own (0 1 2 3 4 5 A),
   MsgSeqNum(34) all digits and the expected one, SendingTime(52) a UTCTimestamp within
   max_latency_ns of now, SenderCompID(49) theirs and TargetCompID(56) ours (first occurrences,
   as FixMessage.get reads them). 0 declines: the Python path then decides, as always (it may
   still accept what this declines). The reference is those Python checks themselves:
   tests/property/test_session_check.py runs sessions with and without this on the same messages. */
/* session_check's test on C values: 1 passes, 0 declines */
static int session_check_impl(PyObject *msg, PyObject *begin_string, PyObject *theirs, PyObject *ours, long long expected,
                              long long now, long long max_lat) {
    PyObject *begin = *(PyObject **)((char *)msg + off_begin);
    PyObject *mt = *(PyObject **)((char *)msg + off_msgtype);
    PyObject *fields = *(PyObject **)((char *)msg + off_fields);
    if (!begin || !mt || !fields || !PyList_Check(fields) || !PyBytes_Check(mt) || !same_bytes(begin, begin_string))
        return 0;
    if (PyBytes_GET_SIZE(mt) == 1 && strchr("012345A", PyBytes_AS_STRING(mt)[0])) return 0;
    PyObject *seq = NULL, *sender = NULL, *sent = NULL, *target = NULL;
    Py_ssize_t nf = PyList_GET_SIZE(fields);
    for (Py_ssize_t i = 0; i < nf && !(seq && sender && sent && target); i++) {
        PyObject *f = PyList_GET_ITEM(fields, i);
        if (!PyTuple_Check(f) || PyTuple_GET_SIZE(f) != 2 || !PyLong_Check(PyTuple_GET_ITEM(f, 0)))
            return 0;
        long tag = PyLong_AsLong(PyTuple_GET_ITEM(f, 0));
        if (tag == -1 && PyErr_Occurred()) { PyErr_Clear(); return 0; }
        PyObject *v = PyTuple_GET_ITEM(f, 1);
        if (tag == 34) { if (!seq) seq = v; }
        else if (tag == 49) { if (!sender) sender = v; }
        else if (tag == 52) { if (!sent) sent = v; }
        else if (tag == 56) { if (!target) target = v; }
    }
    if (!seq || !sender || !sent || !target || !PyBytes_Check(seq) || !PyBytes_Check(sent)) return 0;
    Py_ssize_t n = PyBytes_GET_SIZE(seq);
    const char *p = PyBytes_AS_STRING(seq);
    if (n < 1 || n > 18) return 0;
    long long value = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (p[k] < '0' || p[k] > '9') return 0;
        value = value * 10 + (p[k] - '0');
    }
    if (value != expected || expected <= 0) return 0;
    int64_t t = utc_ns(PyBytes_AS_STRING(sent), PyBytes_GET_SIZE(sent));
    if (t < 0) return 0;
    int64_t diff = t > now ? t - now : now - t;
    if (diff > max_lat || !same_bytes(sender, theirs) || !same_bytes(target, ours)) return 0;
    return 1;
}

static PyObject *session_check(PyObject *self, PyObject *const *a, Py_ssize_t nargs) {
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "session_check(msg, begin, theirs, ours, expected, now_ns, max_latency_ns)");
        return NULL;
    }
    /* anything unexpected (another message class, a float, a value past 64 bits): declined */
    if (!message_type || Py_TYPE(a[0]) != message_type || !PyBytes_Check(a[1]) || !PyBytes_Check(a[2])
        || !PyBytes_Check(a[3]) || !PyLong_Check(a[4]) || !PyLong_Check(a[5]) || !PyLong_Check(a[6]))
        return PyLong_FromLong(0);
    long long expected = PyLong_AsLongLong(a[4]), now = PyLong_AsLongLong(a[5]), max_lat = PyLong_AsLongLong(a[6]);
    if (PyErr_Occurred()) { PyErr_Clear(); return PyLong_FromLong(0); }
    return session_check_impl(a[0], a[1], a[2], a[3], expected, now, max_lat) ? PyLong_FromLongLong(expected)
                                                                             : PyLong_FromLong(0);
}


/* ----------------------------------------------------------------------------- a run of requests */

static PyObject *s_account, *s_cl_ord_id;

/* take_run(buf, pos, max_size, check, expected_seq, session_now_ns, shapes, plan, gateway_id,
   last_id, now_ns, inflight, inflight_keys, by_cl_ord_id, out) -> (pos, taken, last_id)

   What a logged-on session and the order-entry application do for each frame of a read that
   is a plain NewOrderSingle or a cancel of a live order, in order, in one call:
   Session.on_bytes' framing and parse, InSession.on_message's checks (session_check, with
   check = (begin_string, their_comp_id, our_comp_id, max_latency_ns) and the expected
   MsgSeqNum counted up per message), the validator's value check for a (MsgType, shape) it
   has validated before (shapes: Validator._shapes; None when the session does not validate),
   then the application's translation (new_order_fast / cancel_fast with the id
   IdAllocator.next_at would give: gateway_id, last_id, now_ns) and _queue's bookkeeping of a
   ClOrdID in flight (inflight[seq] = (account, cl_ord_id) and inflight_keys). Each
   (record, RequestMeta) goes to list out, for the application to submit.

   It stops, without taking it, at the first frame that is anything else: not starting at
   pos, incomplete or garbled, another message type, a check or value the fast paths decline.
   The caller's Python path then takes that frame as always (and refuses, rejects or answers
   it). Returns where the frames it took end, how many it took and the last id it gave out.
   The reference is the Python path itself: tests/property/test_take_run.py. */
static PyObject *take_run(PyObject *self, PyObject *const *a, Py_ssize_t nargs) {
    if (nargs != 15) {
        PyErr_SetString(PyExc_TypeError, "take_run(buf, pos, max_size, check, expected_seq, session_now_ns, shapes, plan, "
                                         "gateway_id, last_id, now_ns, inflight, inflight_keys, by_cl_ord_id, out)");
        return NULL;
    }
    PyObject *bufo = a[0], *check = a[3], *shapes = a[6], *plan = a[7], *inflight = a[11], *keys = a[12], *by = a[13],
             *out = a[14];
    if (!message_type || !PyByteArray_Check(bufo) || !PyTuple_Check(check) || PyTuple_GET_SIZE(check) != 4
        || (shapes != Py_None && !PyDict_Check(shapes)) || !plan_ok(plan) || !PyDict_Check(inflight)
        || !PyAnySet_Check(keys) || !PyDict_Check(by) || !PyList_Check(out)) {
        PyErr_SetString(PyExc_TypeError, "take_run: unexpected argument types");
        return NULL;
    }
    Py_ssize_t pos = PyLong_AsSsize_t(a[1]), max_size = PyLong_AsSsize_t(a[2]);
    long long expected = PyLong_AsLongLong(a[4]), gw = PyLong_AsLongLong(a[8]), last = PyLong_AsLongLong(a[9]),
              now = PyLong_AsLongLong(a[10]);
    if (PyErr_Occurred()) return NULL;
    if (intern_names() < 0) return NULL;
    if (!s_account) {
        s_account = PyUnicode_InternFromString("account");
        s_cl_ord_id = PyUnicode_InternFromString("cl_ord_id");
        if (!s_account || !s_cl_ord_id) return NULL;
    }
    long long taken = 0, session_now = PyLong_AsLongLong(a[5]),
              max_lat = PyLong_AsLongLong(PyTuple_GET_ITEM(check, 3));
    if (PyErr_Occurred()) return NULL;
    PyObject *begin = PyTuple_GET_ITEM(check, 0), *theirs = PyTuple_GET_ITEM(check, 1), *ours = PyTuple_GET_ITEM(check, 2);
    if (!PyBytes_Check(begin) || !PyBytes_Check(theirs) || !PyBytes_Check(ours)) {
        PyErr_SetString(PyExc_TypeError, "take_run: check holds bytes");
        return NULL;
    }
    PyObject *stopped = NULL;  /* the parsed frame it stopped at, for the Python path */
    size_t stop_end = 0;
    while (1) {
        Py_ssize_t n = PyByteArray_GET_SIZE(bufo);
        const char *p = PyByteArray_AS_STRING(bufo);
        if (pos < 0 || pos + 5 > n || memcmp(p + pos, "8=FIX", 5) != 0) break;
        size_t end = 0;
        if (fix_frame_end(p, (size_t)n, (size_t)pos, (size_t)max_size, &end) != 1) break;
        PyObject *frame = PyBytes_FromStringAndSize(p + pos, (Py_ssize_t)end - pos);
        if (!frame) return NULL;
        PyObject *msg = parse_message(NULL, frame);
        Py_DECREF(frame);
        if (!msg) {
            if (!PyErr_ExceptionMatches(garbled_exc)) return NULL;
            PyErr_Clear();  /* garbled: the Python path says so */
            break;
        }
        PyObject *mt = *(PyObject **)((char *)msg + off_msgtype);
        int kind = (mt && PyBytes_Check(mt) && PyBytes_GET_SIZE(mt) == 1) ? PyBytes_AS_STRING(mt)[0] : 0;
        if (kind != 'D' && kind != 'F') { stopped = msg; stop_end = end; break; }
        if (!session_check_impl(msg, begin, theirs, ours, expected, session_now, max_lat)) {
            stopped = msg;
            stop_end = end;
            break;
        }
        if (shapes != Py_None) {
            PyObject *shape = *(PyObject **)((char *)msg + off_shape);
            PyObject *fields = *(PyObject **)((char *)msg + off_fields);
            if (!shape || shape == Py_None) { stopped = msg; stop_end = end; break; }
            PyObject *key = PyTuple_Pack(2, mt, shape);
            if (!key) { Py_DECREF(msg); return NULL; }
            PyObject *vplan = PyDict_GetItemWithError(shapes, key);  /* borrowed */
            Py_DECREF(key);
            if (!vplan) {
                if (PyErr_Occurred()) { Py_DECREF(msg); return NULL; }
                stopped = msg; stop_end = end; break;
            }
            if (!PyTuple_Check(vplan)) { stopped = msg; stop_end = end; break; }
            Py_ssize_t at = PyList_Check(fields) ? check_values_impl(fields, vplan) : 0;
            if (at == -2) { Py_DECREF(msg); return NULL; }
            if (at != -1) { stopped = msg; stop_end = end; break; }
        }
        /* IdAllocator.next_at(now) */
        long long id = ((now / 1000) << GATEWAY_BITS) | gw;
        if (id <= last) id = last + (1LL << GATEWAY_BITS);
        PyObject *ido = PyLong_FromLongLong(id);
        if (!ido) { Py_DECREF(msg); return NULL; }
        PyObject *fargs[6] = {msg, plan, ido, NULL, keys, by};  /* (the time goes as a C value) */
        PyObject *res = id < 0 ? (Py_INCREF(Py_None), Py_None)
                        : kind == 'D' ? new_order_impl(fargs, id, now) : cancel_impl(fargs, id, now);
        if (!res) { Py_DECREF(ido); Py_DECREF(msg); return NULL; }
        if (res == Py_None) { Py_DECREF(res); Py_DECREF(ido); stopped = msg; stop_end = end; break; }
        Py_DECREF(msg);
        /* the application's _queue: in flight until its events come */
        PyObject *meta = PyTuple_GET_ITEM(res, 1);
        PyObject *account = PyObject_GetAttr(meta, s_account);
        PyObject *cl = account ? PyObject_GetAttr(meta, s_cl_ord_id) : NULL;
        int rc = cl ? 0 : -1;
        if (rc == 0 && PyUnicode_Check(cl) && PyUnicode_GET_LENGTH(cl) > 0) {
            PyObject *key = PyTuple_Pack(2, account, cl);
            rc = key ? PyDict_SetItem(inflight, ido, key) : -1;
            if (rc == 0) rc = PySet_Add(keys, key);
            Py_XDECREF(key);
        }
        Py_XDECREF(account);
        Py_XDECREF(cl);
        Py_DECREF(ido);
        if (rc == 0) rc = PyList_Append(out, res);
        Py_DECREF(res);
        if (rc < 0) return NULL;
        last = id;
        expected++;
        taken++;
        pos = (Py_ssize_t)end;
    }
    if (!stopped) return Py_BuildValue("nLLOn", pos, taken, last, Py_None, pos);
    return Py_BuildValue("nLLNn", pos, taken, last, stopped, (Py_ssize_t)stop_end);  /* (N: the reference moves) */
}


/* ----------------------------------------------------------------------------- reports to sessions */

/* group_reports(reports, sessions, before, delivered, dirty) -> (actions, count)

   Gateway.deliver's walk over an event batch's reports (Report tuples: session, msg_type,
   fields, evt_seq), in one call: a report for a session this gateway does not host
   (not in sessions), or one handed to the session before it started (evt_seq <= before's
   mark), is skipped; consecutive pre-encoded reports of one type ([(0, body)]) for a session
   go out as a run; anything else on its own, after the session's run so far. actions are
   what Gateway.deliver then calls, in its order: (session, msg_type, bodies, None) for
   Acceptor.send_run and (session, msg_type, None, fields) for Acceptor.send. Each report
   taken sets delivered[session] = evt_seq and adds the session to dirty. count: the reports
   taken. The reference is Gateway.deliver's Python loop (tests/property/test_group_reports.py). */
static PyObject *group_reports(PyObject *self, PyObject *const *a, Py_ssize_t nargs) {
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "group_reports(reports, sessions, before, delivered, dirty)");
        return NULL;
    }
    PyObject *reports = a[0], *sessions = a[1], *before = a[2], *delivered = a[3], *dirty = a[4];
    if (!PyList_Check(reports) || !PyDict_Check(sessions) || !PyDict_Check(before) || !PyDict_Check(delivered)
        || !PyAnySet_Check(dirty)) {
        PyErr_SetString(PyExc_TypeError, "group_reports: a list, three dicts and a set expected");
        return NULL;
    }
    PyObject *actions = PyList_New(0), *runs = PyDict_New(), *zero = PyLong_FromLong(0);
    if (!actions || !runs || !zero) goto fail;
    Py_ssize_t count = 0, nr = PyList_GET_SIZE(reports);
    for (Py_ssize_t i = 0; i < nr; i++) {
        PyObject *r = PyList_GET_ITEM(reports, i);
        if (!PyTuple_Check(r) || PyTuple_GET_SIZE(r) != 4) {
            PyErr_SetString(PyExc_TypeError, "group_reports: Report tuples expected");
            goto fail;
        }
        PyObject *sid = PyTuple_GET_ITEM(r, 0), *mt = PyTuple_GET_ITEM(r, 1), *fields = PyTuple_GET_ITEM(r, 2),
                 *evt = PyTuple_GET_ITEM(r, 3);
        int hosted = PyDict_Contains(sessions, sid);
        if (hosted < 0) goto fail;
        if (!hosted) continue;
        PyObject *mark = PyDict_GetItemWithError(before, sid);
        if (!mark && PyErr_Occurred()) goto fail;
        int old = PyObject_RichCompareBool(evt, mark ? mark : zero, Py_LE);
        if (old < 0) goto fail;
        if (old) continue;
        PyObject *run = PyDict_GetItemWithError(runs, sid);  /* borrowed: (msg_type, bodies) */
        if (!run && PyErr_Occurred()) goto fail;
        PyObject *body = NULL;
        if (PyList_Check(fields) && PyList_GET_SIZE(fields) == 1) {
            PyObject *f = PyList_GET_ITEM(fields, 0);
            if (PyTuple_Check(f) && PyTuple_GET_SIZE(f) == 2) {
                int z = PyObject_RichCompareBool(PyTuple_GET_ITEM(f, 0), zero, Py_EQ);
                if (z < 0) goto fail;
                if (z) body = PyTuple_GET_ITEM(f, 1);
            }
        }
        if (body) {
            int same = 0;
            if (run) {
                same = PyObject_RichCompareBool(PyTuple_GET_ITEM(run, 0), mt, Py_EQ);
                if (same < 0) goto fail;
            }
            if (same) {
                if (PyList_Append(PyTuple_GET_ITEM(run, 1), body) < 0) goto fail;
            } else {
                if (run) {
                    PyObject *act = PyTuple_Pack(4, sid, PyTuple_GET_ITEM(run, 0), PyTuple_GET_ITEM(run, 1), Py_None);
                    if (!act || PyList_Append(actions, act) < 0) { Py_XDECREF(act); goto fail; }
                    Py_DECREF(act);
                }
                PyObject *bodies = PyList_New(1);
                if (!bodies) goto fail;
                Py_INCREF(body);
                PyList_SET_ITEM(bodies, 0, body);
                PyObject *nrun = PyTuple_Pack(2, mt, bodies);
                Py_DECREF(bodies);
                if (!nrun || PyDict_SetItem(runs, sid, nrun) < 0) { Py_XDECREF(nrun); goto fail; }
                Py_DECREF(nrun);
            }
        } else {
            if (run) {
                PyObject *act = PyTuple_Pack(4, sid, PyTuple_GET_ITEM(run, 0), PyTuple_GET_ITEM(run, 1), Py_None);
                if (!act || PyList_Append(actions, act) < 0) { Py_XDECREF(act); goto fail; }
                Py_DECREF(act);
                if (PyDict_DelItem(runs, sid) < 0) goto fail;
            }
            PyObject *act = PyTuple_Pack(4, sid, mt, Py_None, fields);
            if (!act || PyList_Append(actions, act) < 0) { Py_XDECREF(act); goto fail; }
            Py_DECREF(act);
        }
        if (PyDict_SetItem(delivered, sid, evt) < 0 || PySet_Add(dirty, sid) < 0) goto fail;
        count++;
    }
    {
        Py_ssize_t pos = 0;
        PyObject *sid, *run;
        while (PyDict_Next(runs, &pos, &sid, &run)) {
            PyObject *act = PyTuple_Pack(4, sid, PyTuple_GET_ITEM(run, 0), PyTuple_GET_ITEM(run, 1), Py_None);
            if (!act || PyList_Append(actions, act) < 0) { Py_XDECREF(act); goto fail; }
            Py_DECREF(act);
        }
    }
    Py_DECREF(runs);
    Py_DECREF(zero);
    return Py_BuildValue("Nn", actions, count);
fail:
    Py_XDECREF(actions);
    Py_XDECREF(runs);
    Py_XDECREF(zero);
    return NULL;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "configure(exc, length_tags, data_tags)"},
    {"checksum", checksum, METH_O, "sum of bytes mod 256"},
    {"split", split, METH_O, "split(frame) -> list[(tag, value)]; raises GarbledMessage"},
    {"set_message_class", set_message_class, METH_O, "set_message_class(cls)"},
    {"parse_message", parse_message, METH_O, "parse_message(frame) -> FixMessage"},
    {"first_index", first_index, METH_O, "first_index(fields) -> dict (first occurrence)"},
    {"split_shape", split_shape, METH_O, "split_shape(frame) -> (fields, shape bytes)"},
    {"check_values", check_values, METH_VARARGS, "check_values(fields, plan) -> first bad index or -1"},
    {"encode", encode, METH_VARARGS, "encode(begin, msg_type, fields) -> bytes"},
    {"encode_run", encode_run, METH_VARARGS, "encode_run(begin, msg_type, sender, target, sending_time, first_seq, bodies) -> list[bytes]"},
    {"frame_end", frame_end, METH_VARARGS, "frame_end(buf, start, max) -> (status, end)"},
    {"er_body", (PyCFunction)(void (*)(void))er_body, METH_FASTCALL, "er_body(...) -> ExecutionReport body bytes"},
    {"er_terms", (PyCFunction)(void (*)(void))er_terms, METH_FASTCALL, "er_terms(...) -> an order's Account .. TimeInForce fields"},
    {"session_check", (PyCFunction)(void (*)(void))session_check, METH_FASTCALL,
     "session_check(msg, begin, theirs, ours, expected_seq, now_ns, max_latency_ns) -> expected_seq | 0"},
    {"new_order_fast", (PyCFunction)(void (*)(void))new_order_fast, METH_FASTCALL,
     "new_order_fast(msg, plan, order_id, now_ns, inflight, by_cl_ord_id) -> (NewOrder record, RequestMeta) | None"},
    {"fold_events", (PyCFunction)(void (*)(void))fold_events, METH_FASTCALL,
     "fold_events(book, ctx, evt_seq, body, metas) -> [Report]: OrderBook.apply over an event batch's body"},
    {"group_reports", (PyCFunction)(void (*)(void))group_reports, METH_FASTCALL,
     "group_reports(reports, sessions, before, delivered, dirty) -> (actions, count): Gateway.deliver's walk"},
    {"take_run", (PyCFunction)(void (*)(void))take_run, METH_FASTCALL,
     "take_run(buf, pos, max_size, check, expected_seq, session_now_ns, shapes, plan, gateway_id, last_id, now_ns, "
     "inflight, inflight_keys, by_cl_ord_id, out) -> (pos, taken, last_id, msg, msg_end)"},
    {"cancel_fast", (PyCFunction)(void (*)(void))cancel_fast, METH_FASTCALL,
     "cancel_fast(msg, plan, seq, now_ns, inflight, by_cl_ord_id) -> (Cancel record, RequestMeta) | None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_codec", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__codec(void) { return PyModule_Create(&moduledef); }

/* engine._book: the venue's matching engine core (C, CPython extension).
 *
 * Semantics are stated in docs/engine.md and mirrored line for line by engine/reference.py;
 * the property tests require identical event bytes and state hashes from both.
 *
 * Invariants (checked after every command when built with VENUE_ENGINE_DEBUG=1):
 *  - each book side is a sorted array of price levels, best level last (O(1) best bid/ask,
 *    binary search + short memmove near the top); a level is an intrusive FIFO of orders and
 *    its `total` is the sum of the visible quantities; books are never crossed;
 *  - orders live in a pooled arena (free list, grows by doubling: no malloc per order) and are
 *    found by id through an open-addressing map (O(1) cancel); every live order is in the
 *    accept-order list and in exactly one of a level or a stop list;
 *  - balance `held` equals the holds of the account's live orders plus pending withdrawals;
 *    no balance is ever negative; all arithmetic is integer, overflow is checked with 128 bits.
 * Determinism: no clocks, no addresses and no hash-table order leak into events or state. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "_map.h"
#include "_rejects.h"

#include "_book_types.h"
#include "_book_match.h"
#include "_book_cmds.h"
#include "_book_state.h"

/* ------------------------------------------------------------------ Python type */
static PyObject *engine_new(PyTypeObject *type, PyObject *args, PyObject *kw);

static int run_loop(Engine *e, const u8 *buf, Py_ssize_t count, u32 *lat) {
    for (Py_ssize_t k = 0; k < count; k++) {
        struct timespec t0, t1;
        if (lat) clock_gettime(CLOCK_MONOTONIC, &t0);
        run_command(e, buf + k * CMD_SIZE);
        if (lat) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            i64 d = (i64)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
            lat[k] = d > 0xFFFFFFFFll ? 0xFFFFFFFFu : (u32)d;
        }
#ifdef VENUE_ENGINE_DEBUG
        if (check_invariants(e)) return 1;
#endif
    }
    return 0;
}

/* The GIL is released for batches big enough to amortise the release (the engine object is
 * guarded by `busy`, the input by the held buffer view). */
#define GIL_RELEASE_MIN 64
static int run_batch(Engine *e, const u8 *buf, Py_ssize_t n, u32 *lat) {
    Py_ssize_t count = n / CMD_SIZE;
    int bad;
    if (count < GIL_RELEASE_MIN) return run_loop(e, buf, count, lat);
    Py_BEGIN_ALLOW_THREADS
    bad = run_loop(e, buf, count, lat);
    Py_END_ALLOW_THREADS
    return bad;
}

static PyObject *apply_common(Engine *e, PyObject *arg, int timed) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    if (view.len % CMD_SIZE) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError, "command batch length %zd is not a multiple of %d",
                            view.len, CMD_SIZE);
    }
    if (e->busy) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_RuntimeError, "engine is already applying a batch");
        return NULL;
    }
    PyObject *lat = NULL;
    if (timed) {
        lat = PyBytes_FromStringAndSize(NULL, (view.len / CMD_SIZE) * 4);
        if (!lat) { PyBuffer_Release(&view); return NULL; }
    }
    e->busy = 1;
    e->olen = 0;
    int bad = run_batch(e, view.buf, view.len, lat ? (u32 *)PyBytes_AS_STRING(lat) : NULL);
    e->busy = 0;
    PyBuffer_Release(&view);
    if (bad) {
        Py_XDECREF(lat);
        PyErr_Format(PyExc_AssertionError, "engine invariant violated: %s", e->err);
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize((const char *)e->out, (Py_ssize_t)e->olen);
    if (e->outcap > (1u << 24) && e->olen < e->outcap / 8) { /* do not pin a huge buffer */
        free(e->out);
        e->out = NULL;
        e->outcap = 0;
    }
    if (!timed) return out;
    if (!out) { Py_DECREF(lat); return NULL; }
    PyObject *res = PyTuple_Pack(2, out, lat);
    Py_DECREF(out);
    Py_DECREF(lat);
    return res;
}

static PyObject *Engine_apply_batch(Engine *e, PyObject *arg) { return apply_common(e, arg, 0); }
static PyObject *Engine_apply_batch_timed(Engine *e, PyObject *arg) {
    return apply_common(e, arg, 1);
}

#define NOT_BUSY(e) do { if ((e)->busy) { PyErr_SetString(PyExc_RuntimeError, "engine is busy applying a batch"); return NULL; } } while (0)

static PyObject *Engine_state_hash(Engine *e, PyObject *unused) {
    NOT_BUSY(e);
    Words w = {0};
    canonical(e, &w);
    u64 h = 0xcbf29ce484222325ull;
    for (size_t k = 0; k < w.n; k++) h = (h ^ w.w[k]) * 0x100000001b3ull;
    free(w.w);
    return PyLong_FromUnsignedLongLong(h);
}

static PyObject *Engine_snapshot(Engine *e, PyObject *unused) {
    NOT_BUSY(e);
    Words w = {0};
    canonical(e, &w);
    PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(8 + 8 * w.n));
    if (b) {
        memcpy(PyBytes_AS_STRING(b), "VNGSNAP1", 8);
        if (w.n) memcpy(PyBytes_AS_STRING(b) + 8, w.w, 8 * w.n);
    }
    free(w.w);
    return b;
}

static PyObject *Engine_restore(PyObject *cls, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    const u8 *p = view.buf;
    if (view.len < 8 || memcmp(p, "VNGSNAP1", 8) || (view.len - 8) % 8) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "not an engine snapshot");
        return NULL;
    }
    Engine *e = (Engine *)engine_new((PyTypeObject *)cls, NULL, NULL);
    if (!e) { PyBuffer_Release(&view); return NULL; }
    size_t n = (size_t)(view.len - 8) / 8;
    u64 *w = xrealloc(NULL, 8 * (n ? n : 1));
    if (n) memcpy(w, p + 8, 8 * n);
    PyBuffer_Release(&view);
    const char *err = load(e, w, n);
    free(w);
    if (!err && check_invariants(e)) err = e->err;
    if (err) {
        PyErr_Format(PyExc_ValueError, "bad snapshot: %s", err);
        Py_DECREF(e);
        return NULL;
    }
    return (PyObject *)e;
}

static PyObject *Engine_check_invariants(Engine *e, PyObject *unused) {
    NOT_BUSY(e);
    if (check_invariants(e)) return PyErr_Format(PyExc_AssertionError, "%s", e->err);
    Py_RETURN_NONE;
}

static PyObject *Engine_has_order(Engine *e, PyObject *arg) {
    NOT_BUSY(e);
    u64 id = PyLong_AsUnsignedLongLong(arg);
    if (id == (u64)-1 && PyErr_Occurred()) return NULL;
    return PyBool_FromLong(map_get(&e->omap, id) != NIL);
}

static PyObject *Engine_order_count(Engine *e, PyObject *unused) {
    return PyLong_FromUnsignedLong(e->n_orders);
}

static PyObject *Engine_clock(Engine *e, PyObject *unused) { return PyLong_FromLongLong(e->clock); }

static void engine_init_fields(Engine *e) {
    e->ofree = e->ahead = e->atail = e->lfree = e->wfree = NIL;
    map_init(&e->omap, 12);
    map_init(&e->imap, 4);
    map_init(&e->amap, 6);
    map_init(&e->bmap, 8);
    map_init(&e->wmap, 4);
    map_init(&e->smap, 4);
    e->next_exec = e->next_serial = 1;
}

static PyObject *engine_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    Engine *e = (Engine *)type->tp_alloc(type, 0);
    if (!e) return NULL;
    engine_init_fields(e);
    return (PyObject *)e;
}

static int engine_init(Engine *e, PyObject *args, PyObject *kw) {
    if (PyTuple_GET_SIZE(args) || (kw && PyDict_GET_SIZE(kw))) {
        PyErr_SetString(PyExc_TypeError, "Engine() takes no arguments");
        return -1;
    }
    if (e->n_acc == 0) account_add(e, FEE_ACCOUNT, 0, 0, 0);
    return 0;
}

static void engine_dealloc(Engine *e) {
    free(e->orders); free(e->levels); free(e->acc); free(e->bal); free(e->wd); free(e->supply);
    free(e->heap); free(e->out); free(e->touch);
    for (u32 k = 0; k < e->n_ins; k++) { free(e->ins[k].books[0].lv); free(e->ins[k].books[0].key);
        free(e->ins[k].books[1].lv); free(e->ins[k].books[1].key); map_free(&e->ins[k].lmap); map_free(&e->ins[k].tmap); }
    free(e->ins);
    map_free(&e->omap); map_free(&e->imap); map_free(&e->amap); map_free(&e->bmap);
    map_free(&e->wmap); map_free(&e->smap);
    Py_TYPE(e)->tp_free((PyObject *)e);
}

static PyMethodDef Engine_methods[] = {
    {"apply_batch", (PyCFunction)Engine_apply_batch, METH_O,
     "apply_batch(buf) -> bytes: apply encoded commands, return encoded events"},
    {"apply_batch_timed", (PyCFunction)Engine_apply_batch_timed, METH_O,
     "apply_batch_timed(buf) -> (events, latencies): u32 ns per command (clock_gettime)"},
    {"state_hash", (PyCFunction)Engine_state_hash, METH_NOARGS, "64-bit FNV-1a of the canonical state"},
    {"snapshot", (PyCFunction)Engine_snapshot, METH_NOARGS, "canonical state as bytes"},
    {"restore", (PyCFunction)Engine_restore, METH_O | METH_CLASS, "Engine.restore(snapshot)"},
    {"check_invariants", (PyCFunction)Engine_check_invariants, METH_NOARGS,
     "raise AssertionError when an internal invariant is broken"},
    {"has_order", (PyCFunction)Engine_has_order, METH_O, "is the order id live"},
    {"order_count", (PyCFunction)Engine_order_count, METH_NOARGS, "live orders"},
    {"clock", (PyCFunction)Engine_clock, METH_NOARGS, "engine clock (ns)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject EngineType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "engine._book.Engine",
    .tp_basicsize = sizeof(Engine),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Matching engine core: order books, accounts, holds (see docs/engine.md).",
    .tp_new = engine_new,
    .tp_init = (initproc)engine_init,
    .tp_dealloc = (destructor)engine_dealloc,
    .tp_methods = Engine_methods,
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "engine._book", NULL, -1, NULL, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__book(void) {
    if (PyType_Ready(&EngineType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    Py_INCREF(&EngineType);
    PyModule_AddObject(m, "Engine", (PyObject *)&EngineType);
#ifdef VENUE_ENGINE_DEBUG
    PyModule_AddIntConstant(m, "DEBUG", 1);
#else
    PyModule_AddIntConstant(m, "DEBUG", 0);
#endif
    PyModule_AddIntConstant(m, "CMD_SIZE", CMD_SIZE);
    return m;
}

/* bench._callgrind: callgrind's collection switched on and off from Python, around the parts
 * of a benchmark to count (bench.gateway --instructions). Outside valgrind, or where the
 * valgrind headers are missing at build time, both calls do nothing. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif

static PyObject *toggle(PyObject *self, PyObject *unused) {
#ifdef HAVE_CALLGRIND
    CALLGRIND_TOGGLE_COLLECT;
#endif
    Py_RETURN_NONE;
}

static PyObject *available(PyObject *self, PyObject *unused) {
#ifdef HAVE_CALLGRIND
    Py_RETURN_TRUE;
#else
    Py_RETURN_FALSE;
#endif
}

static PyMethodDef methods[] = {
    {"toggle", toggle, METH_NOARGS, "toggle() -> None: callgrind's collection on if off, off if on"},
    {"available", available, METH_NOARGS, "available() -> bool: built with callgrind's client requests"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_callgrind", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__callgrind(void) { return PyModule_Create(&module); }

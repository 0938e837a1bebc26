/*
 * jitmagic.ledger._fastcall: a C-level forwarder for the cache-hit hot path.
 *
 * Why C: a Python closure around a jax.jit object costs ~1.1x a bare call and
 * a class __call__ ~1.2x (see benchmarks/bench_forward.py). This type forwards
 * with vectorcall, counts calls in a C integer (exact under the GIL) and checks
 * for a cache miss with one cache_size() call before and after; only on a miss
 * or an error does it build an args tuple / kwargs dict and call back into
 * Python. jitmagic/_forward.py holds a pure-Python class with identical
 * behaviour, used when this extension is not built.
 *
 *   Forwarder(jitted, cache_size, on_miss, on_error)
 *   __call__(*args, **kwargs):
 *       n = cache_size()
 *       out = jitted(*args, **kwargs)
 *       on Exception exc: r = on_error(exc, args, kwargs)
 *                         raise r if r is not None else re-raise exc
 *       calls += 1
 *       if cache_size is None or cache_size() != n: on_miss(args, kwargs)
 *       return out
 *
 * Python subclasses keep the vectorcall slot (CPython < 3.12 does not inherit
 * Py_TPFLAGS_HAVE_VECTORCALL into heap types; tp_new sets it, as 3.12 does,
 * when the subclass does not override __call__).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    PyObject *jitted;
    PyObject *cache_size; /* Py_None: no miss check, on_miss after every call */
    PyObject *on_miss;
    PyObject *on_error;
    PyObject *dict;
    PyObject *weakrefs;
    vectorcallfunc vectorcall;
    unsigned long long calls;
} Forwarder;

/* One call's arguments, either as a vectorcall stack or as tuple + dict. */
typedef struct {
    PyObject *const *stack;
    size_t nargsf;
    PyObject *kwnames;
    PyObject *tuple; /* non-NULL: tp_call form */
    PyObject *dict;  /* may be NULL in tp_call form */
} CallArgs;

static PyTypeObject ForwarderType;
static PyObject *Forwarder_call(PyObject *op, PyObject *args, PyObject *kwargs);

static PyObject *
invoke(PyObject *func, const CallArgs *a)
{
    if (a->tuple != NULL) {
        return PyObject_Call(func, a->tuple, a->dict);
    }
    return PyObject_Vectorcall(func, a->stack, a->nargsf, a->kwnames);
}

/* New references to (args tuple, kwargs dict) for the Python callbacks. */
static int
materialize(const CallArgs *a, PyObject **args, PyObject **kwargs)
{
    if (a->tuple != NULL) {
        *args = Py_NewRef(a->tuple);
        *kwargs = a->dict != NULL ? PyDict_Copy(a->dict) : PyDict_New();
        if (*kwargs == NULL) {
            Py_CLEAR(*args);
            return -1;
        }
        return 0;
    }
    Py_ssize_t nargs = PyVectorcall_NARGS(a->nargsf);
    *args = PyTuple_New(nargs);
    *kwargs = PyDict_New();
    if (*args == NULL || *kwargs == NULL) {
        goto fail;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyTuple_SET_ITEM(*args, i, Py_NewRef(a->stack[i]));
    }
    if (a->kwnames != NULL) {
        Py_ssize_t nkw = PyTuple_GET_SIZE(a->kwnames);
        for (Py_ssize_t i = 0; i < nkw; i++) {
            PyObject *key = PyTuple_GET_ITEM(a->kwnames, i);
            if (PyDict_SetItem(*kwargs, key, a->stack[nargs + i]) < 0) {
                goto fail;
            }
        }
    }
    return 0;
fail:
    Py_CLEAR(*args);
    Py_CLEAR(*kwargs);
    return -1;
}

static int
read_size(PyObject *cache_size, Py_ssize_t *out)
{
    PyObject *r = PyObject_CallNoArgs(cache_size);
    if (r == NULL) {
        return -1;
    }
    Py_ssize_t n = PyLong_AsSsize_t(r);
    Py_DECREF(r);
    if (n == -1 && PyErr_Occurred()) {
        return -1;
    }
    *out = n;
    return 0;
}

/* Set the handled exception (sys.exc_info()) so on_error sees what an
 * `except` block would; returns the previous one (new reference or NULL). */
static PyObject *
swap_handled(PyObject *exc)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *old = PyErr_GetHandledException();
    PyErr_SetHandledException(exc);
    return old;
#else
    PyObject *t, *v, *tb;
    PyErr_GetExcInfo(&t, &v, &tb);
    Py_XDECREF(t);
    Py_XDECREF(tb);
    if (exc == NULL || exc == Py_None) {
        PyErr_SetExcInfo(NULL, NULL, NULL);
    }
    else {
        PyErr_SetExcInfo(Py_NewRef((PyObject *)Py_TYPE(exc)), Py_NewRef(exc),
                         PyException_GetTraceback(exc));
    }
    return v;
#endif
}

static void
restore_handled(PyObject *old)
{
    PyObject *tmp = swap_handled(old);
    Py_XDECREF(tmp);
    Py_XDECREF(old);
}

/* Raise `value` as Python's `raise value` inside `except original:` would. */
static void
raise_in_context(PyObject *value, PyObject *original)
{
    if (value != original) {
        PyException_SetContext(value, Py_NewRef(original));
    }
    PyObject *tb = PyException_GetTraceback(value);
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(value)), Py_NewRef(value), tb);
}

/* The jitted call failed (error indicator set). Let on_error replace the
 * exception; always returns NULL with an exception set. */
static PyObject *
handle_error(PyObject *on_error, const CallArgs *a)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception)) {
        return NULL; /* KeyboardInterrupt, SystemExit, ...: untouched */
    }
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    PyObject *args, *kwargs, *r = NULL;
    if (materialize(a, &args, &kwargs) == 0) {
        PyObject *old = swap_handled(value);
        r = PyObject_CallFunctionObjArgs(on_error, value, args, kwargs, NULL);
        restore_handled(old);
        Py_DECREF(args);
        Py_DECREF(kwargs);
    }
    if (r == Py_None) {
        Py_DECREF(r);
        PyErr_Restore(type, value, tb); /* original exception and traceback */
        return NULL;
    }
    if (r == NULL) { /* on_error (or packing) failed: chain to the original */
        PyObject *t2, *v2, *tb2;
        PyErr_Fetch(&t2, &v2, &tb2);
        PyErr_NormalizeException(&t2, &v2, &tb2);
        if (tb2 != NULL) {
            PyException_SetTraceback(v2, tb2);
        }
        Py_XDECREF(t2);
        Py_XDECREF(tb2);
        r = v2;
    }
    else if (!PyExceptionInstance_Check(r)) {
        PyErr_Format(PyExc_TypeError,
                     "on_error must return None or an exception instance, not %.100s",
                     Py_TYPE(r)->tp_name);
        Py_DECREF(r);
        PyObject *t2, *tb2;
        PyErr_Fetch(&t2, &r, &tb2);
        PyErr_NormalizeException(&t2, &r, &tb2);
        Py_XDECREF(t2);
        Py_XDECREF(tb2);
    }
    raise_in_context(r, value);
    Py_DECREF(r);
    Py_DECREF(type);
    Py_DECREF(value);
    Py_XDECREF(tb);
    return NULL;
}

static PyObject *
forward(Forwarder *self, const CallArgs *a)
{
    if (self->jitted == NULL) {
        PyErr_SetString(PyExc_TypeError, "Forwarder.__init__() was not called");
        return NULL;
    }
    /* Strong references: a callback may re-initialise self during the call. */
    PyObject *jitted = Py_NewRef(self->jitted);
    PyObject *cache_size = Py_NewRef(self->cache_size);
    PyObject *out = NULL;
    Py_ssize_t before = 0, after = 0;
    int check = cache_size != Py_None;

    if (check && read_size(cache_size, &before) < 0) {
        goto done;
    }
    out = invoke(jitted, a);
    if (out == NULL) {
        PyObject *on_error = Py_NewRef(self->on_error);
        handle_error(on_error, a);
        Py_DECREF(on_error);
        goto done;
    }
    self->calls++;
    if (check && read_size(cache_size, &after) < 0) {
        Py_CLEAR(out);
        goto done;
    }
    if (!check || after != before) {
        PyObject *on_miss = Py_NewRef(self->on_miss), *args, *kwargs, *r = NULL;
        if (materialize(a, &args, &kwargs) == 0) {
            r = PyObject_CallFunctionObjArgs(on_miss, args, kwargs, NULL);
            Py_DECREF(args);
            Py_DECREF(kwargs);
        }
        Py_DECREF(on_miss);
        if (r == NULL) {
            Py_CLEAR(out);
        }
        Py_XDECREF(r);
    }
done:
    Py_DECREF(jitted);
    Py_DECREF(cache_size);
    return out;
}

static PyObject *
Forwarder_vectorcall(PyObject *op, PyObject *const *stack, size_t nargsf, PyObject *kwnames)
{
    if (Py_TYPE(op)->tp_call != Forwarder_call) {
        /* A subclass assigned __call__ after we enabled vectorcall: honour it. */
        CallArgs a = {stack, nargsf, kwnames, NULL, NULL};
        PyObject *args, *kwargs, *r;
        if (materialize(&a, &args, &kwargs) < 0) {
            return NULL;
        }
        r = Py_TYPE(op)->tp_call(op, args, kwargs);
        Py_DECREF(args);
        Py_DECREF(kwargs);
        return r;
    }
    CallArgs a = {stack, nargsf, kwnames, NULL, NULL};
    return forward((Forwarder *)op, &a);
}

static PyObject *
Forwarder_call(PyObject *op, PyObject *args, PyObject *kwargs)
{
    CallArgs a = {NULL, 0, NULL, args, kwargs};
    return forward((Forwarder *)op, &a);
}

static PyObject *
Forwarder_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    /* CPython < 3.12 does not pass vectorcall on to Python subclasses; do it
     * here when the subclass kept our __call__ and our slot layout. */
    if (!PyType_HasFeature(type, Py_TPFLAGS_HAVE_VECTORCALL) &&
        type->tp_call == Forwarder_call &&
        type->tp_vectorcall_offset == offsetof(Forwarder, vectorcall)) {
        type->tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL;
    }
    Forwarder *self = (Forwarder *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = Forwarder_vectorcall;
    self->calls = 0;
    return (PyObject *)self;
}

static int
Forwarder_init(Forwarder *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"jitted", "cache_size", "on_miss", "on_error", NULL};
    PyObject *jitted, *cache_size, *on_miss, *on_error;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO:Forwarder", kwlist, &jitted,
                                     &cache_size, &on_miss, &on_error)) {
        return -1;
    }
    PyObject *check[] = {jitted, cache_size, on_miss, on_error};
    for (int i = 0; i < 4; i++) {
        if (!PyCallable_Check(check[i]) && !(i == 1 && check[i] == Py_None)) {
            PyErr_Format(PyExc_TypeError, "Forwarder() argument '%s' must be callable%s, not %.100s",
                         kwlist[i], i == 1 ? " or None" : "", Py_TYPE(check[i])->tp_name);
            return -1;
        }
    }
    Py_XSETREF(self->jitted, Py_NewRef(jitted));
    Py_XSETREF(self->cache_size, Py_NewRef(cache_size));
    Py_XSETREF(self->on_miss, Py_NewRef(on_miss));
    Py_XSETREF(self->on_error, Py_NewRef(on_error));
    return 0;
}

static int
Forwarder_traverse(Forwarder *self, visitproc visit, void *arg)
{
    Py_VISIT(self->jitted);
    Py_VISIT(self->cache_size);
    Py_VISIT(self->on_miss);
    Py_VISIT(self->on_error);
    Py_VISIT(self->dict);
    return 0;
}

static int
Forwarder_clear(Forwarder *self)
{
    Py_CLEAR(self->jitted);
    Py_CLEAR(self->cache_size);
    Py_CLEAR(self->on_miss);
    Py_CLEAR(self->on_error);
    Py_CLEAR(self->dict);
    return 0;
}

static void
Forwarder_dealloc(Forwarder *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakrefs != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    Forwarder_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Descriptor protocol, like jax.jit objects: a Forwarder stored on a class
 * binds the instance as its first argument. */
static PyObject *
Forwarder_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(self);
    }
    return PyMethod_New(self, obj);
}

static PyObject *
Forwarder_repr(Forwarder *self)
{
    if (self->jitted == NULL) {
        return PyUnicode_FromFormat("<%s (uninitialised)>", Py_TYPE(self)->tp_name);
    }
    return PyUnicode_FromFormat("<%s of %R, calls=%llu>", Py_TYPE(self)->tp_name, self->jitted,
                                self->calls);
}

static PyObject *
Forwarder_reset_calls(Forwarder *self, PyObject *Py_UNUSED(ignored))
{
    self->calls = 0;
    Py_RETURN_NONE;
}

static PyMethodDef Forwarder_methods[] = {
    {"reset_calls", (PyCFunction)Forwarder_reset_calls, METH_NOARGS,
     "Set the call counter back to zero."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Forwarder_members[] = {
    {"jitted", T_OBJECT, offsetof(Forwarder, jitted), READONLY, "The wrapped callable."},
    {"cache_size", T_OBJECT, offsetof(Forwarder, cache_size), READONLY,
     "Zero-argument callable returning the dispatch-cache size, or None."},
    {"on_miss", T_OBJECT, offsetof(Forwarder, on_miss), READONLY,
     "Called as on_miss(args, kwargs) after a call that grew the cache."},
    {"on_error", T_OBJECT, offsetof(Forwarder, on_error), READONLY,
     "Called as on_error(exc, args, kwargs); may return an exception to raise instead."},
    {"calls", T_ULONGLONG, offsetof(Forwarder, calls), READONLY,
     "Number of successful calls since creation or reset_calls()."},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef Forwarder_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(Forwarder_doc,
             "Forwarder(jitted, cache_size, on_miss, on_error)\n--\n\n"
             "Call `jitted`, count successful calls, and call on_miss(args, kwargs) when\n"
             "cache_size() changed across the call (always, if cache_size is None).\n"
             "On an Exception, on_error(exc, args, kwargs) may return a replacement.");

static PyTypeObject ForwarderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "jitmagic.ledger._fastcall.Forwarder",
    .tp_basicsize = sizeof(Forwarder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC |
                Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = Forwarder_doc,
    .tp_new = Forwarder_new,
    .tp_init = (initproc)Forwarder_init,
    .tp_dealloc = (destructor)Forwarder_dealloc,
    .tp_traverse = (traverseproc)Forwarder_traverse,
    .tp_clear = (inquiry)Forwarder_clear,
    .tp_call = Forwarder_call,
    .tp_vectorcall_offset = offsetof(Forwarder, vectorcall),
    .tp_descr_get = Forwarder_descr_get,
    .tp_repr = (reprfunc)Forwarder_repr,
    .tp_methods = Forwarder_methods,
    .tp_members = Forwarder_members,
    .tp_getset = Forwarder_getset,
    .tp_dictoffset = offsetof(Forwarder, dict),
    .tp_weaklistoffset = offsetof(Forwarder, weakrefs),
};

static struct PyModuleDef fastcall_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "jitmagic.ledger._fastcall",
    .m_doc = "C-level forwarder for the cache-hit hot path of tracked jit functions.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__fastcall(void)
{
    if (PyType_Ready(&ForwarderType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&fastcall_module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "Forwarder", (PyObject *)&ForwarderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

/*
 * jitmagic.ledger._fastcall: a C-level forwarder for the cache-hit hot path.
 *
 * Why C: a Python closure around a jax.jit object costs ~1.1x a bare call and
 * a class __call__ ~1.2x (see benchmarks/bench_forward.py). This type forwards
 * with vectorcall, counts calls in a C integer (exact, atomic without a GIL) and checks
 * for a cache miss with one cache_size() call before and after; only on a miss
 * or an error does it build an args tuple / kwargs dict and call back into
 * Python. jitmagic/ledger/forward.py holds a pure-Python class with identical
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
 *       elif on_hit and (watch > 0 or calls % every == 0):   # watch_hits(watch, every)
 *           watch -= 1 (if > 0); on_hit(args, kwargs)
 *       return out
 *
 * The watch is off (watch == 0, every == 0) unless the Python side asks for it, so a
 * plain hit pays two integer tests for it.
 *
 * Python subclasses keep the vectorcall slot (CPython < 3.12 does not inherit
 * Py_TPFLAGS_HAVE_VECTORCALL into heap types; tp_new sets it, as 3.12 does,
 * when the subclass does not override __call__).
 *
 * Free-threaded CPython (3.13t): the module declares Py_MOD_GIL_NOT_USED, so
 * importing it does not turn the GIL back on. That is safe because
 *   - the call counter is the only state written per call, and without a GIL it
 *     is incremented atomically (COUNT_CALL), so it stays exact across threads;
 *   - the four callables are written once, by __init__ (a second __init__ raises),
 *     and only read afterwards; self, held by every caller, keeps them alive;
 *   - everything else a call uses (arguments, cache sizes, the exception being
 *     handled) lives on the C stack or in the calling thread's state;
 *   - the one write to shared type state, tp_new's vectorcall flag for Python
 *     subclasses, is compiled only for CPython < 3.12, where no free-threaded
 *     build exists.
 * The Python callbacks (cache_size, on_miss, on_error) do their own locking.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <structmember.h>

#ifdef Py_GIL_DISABLED
#define COUNT_CALL(self) _Py_atomic_add_uint64(&(self)->calls, 1)
#define LOAD_CALLS(self) _Py_atomic_load_uint64_relaxed(&(self)->calls)
#define STORE_CALLS(self, n) _Py_atomic_store_uint64_relaxed(&(self)->calls, (n))
/* the watch is a hint: a lost decrement only means one more or one fewer check */
#define LOAD_WATCH(self) _Py_atomic_load_ssize_relaxed(&(self)->watch)
#define STORE_WATCH(self, n) _Py_atomic_store_ssize_relaxed(&(self)->watch, (n))
#define LOAD_MASK(self) _Py_atomic_load_uint64_relaxed(&(self)->watch_mask)
#define STORE_MASK(self, n) _Py_atomic_store_uint64_relaxed(&(self)->watch_mask, (n))
#else /* the GIL serialises these */
#define COUNT_CALL(self) ((self)->calls++)
#define LOAD_CALLS(self) ((self)->calls)
#define STORE_CALLS(self, n) ((self)->calls = (n))
#define LOAD_WATCH(self) ((self)->watch)
#define STORE_WATCH(self, n) ((self)->watch = (n))
#define LOAD_MASK(self) ((self)->watch_mask)
#define STORE_MASK(self, n) ((self)->watch_mask = (n))
#endif

#if PY_VERSION_HEX < 0x030C0000 /* 3.12's one-object exception API, for 3.10-3.11 */
static PyObject *
PyErr_GetRaisedException(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (type == NULL) {
        return NULL;
    }
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_DECREF(type);
    Py_XDECREF(tb);
    return value;
}

static void
PyErr_SetRaisedException(PyObject *exc)
{
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), exc, PyException_GetTraceback(exc));
}
#endif

typedef struct {
    PyObject_HEAD
    PyObject *jitted;
    PyObject *cache_size; /* Py_None: no miss check, on_miss after every call */
    PyObject *on_miss;
    PyObject *on_error;
    PyObject *on_hit; /* Py_None: hits are never watched */
    PyObject *dict;
    PyObject *weakrefs;
    vectorcallfunc vectorcall;
    uint64_t calls; /* successful calls; see COUNT_CALL */
    Py_ssize_t watch; /* the next `watch` hits call on_hit */
    uint64_t watch_mask; /* nonzero: also every hit with (calls & mask) == 0 */
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

/* The jitted call failed (error indicator set). Let on_error replace the
 * exception, as `except Exception as exc: r = on_error(...); raise r` would;
 * always returns NULL with an exception set. */
static PyObject *
handle_error(PyObject *on_error, const CallArgs *a)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception)) {
        return NULL; /* KeyboardInterrupt, SystemExit, ...: untouched */
    }
    PyObject *exc = PyErr_GetRaisedException();
    PyObject *args, *kwargs, *r = NULL;
    if (materialize(a, &args, &kwargs) == 0) {
        PyObject *old = swap_handled(exc);
        r = PyObject_CallFunctionObjArgs(on_error, exc, args, kwargs, NULL);
        restore_handled(old);
        Py_DECREF(args);
        Py_DECREF(kwargs);
    }
    if (r == Py_None) { /* re-raise the original, traceback and all */
        Py_DECREF(r);
        PyErr_SetRaisedException(exc);
        return NULL;
    }
    if (r != NULL && !PyExceptionInstance_Check(r)) {
        PyErr_Format(PyExc_TypeError,
                     "on_error must return None or an exception instance, not %.100s",
                     Py_TYPE(r)->tp_name);
        Py_CLEAR(r);
    }
    if (r == NULL) { /* on_error (or packing the arguments) failed: raise that */
        r = PyErr_GetRaisedException();
    }
    if (r != exc) {
        PyException_SetContext(r, exc); /* steals exc */
    }
    else {
        Py_DECREF(exc);
    }
    PyErr_SetRaisedException(r); /* steals r */
    return NULL;
}

/* Call func(args, kwargs) after a successful call; returns out, or NULL (and drops out)
 * when func raised. */
static PyObject *
callback(PyObject *func, const CallArgs *a, PyObject *out)
{
    PyObject *args, *kwargs, *r = NULL;
    if (materialize(a, &args, &kwargs) == 0) {
        r = PyObject_CallFunctionObjArgs(func, args, kwargs, NULL);
        Py_DECREF(args);
        Py_DECREF(kwargs);
    }
    if (r == NULL) {
        Py_CLEAR(out);
    }
    Py_XDECREF(r);
    return out;
}

/* Is this hit one of the watched ones (the next `watch` hits, or a sampled one)? */
static int
watched_hit(Forwarder *self)
{
    Py_ssize_t left = LOAD_WATCH(self);
    if (left > 0) {
        STORE_WATCH(self, left - 1);
        return 1;
    }
    uint64_t mask = LOAD_MASK(self);
    return mask != 0 && (LOAD_CALLS(self) & mask) == 0;
}

static PyObject *
forward(Forwarder *self, const CallArgs *a)
{
    if (self->jitted == NULL) {
        PyErr_SetString(PyExc_TypeError, "Forwarder.__init__() was not called");
        return NULL;
    }
    /* The callables are set once by __init__ and live as long as self, which
     * our caller holds: borrowed references are enough. */
    PyObject *cache_size = self->cache_size;
    Py_ssize_t before = 0, after = 0;
    int check = cache_size != Py_None;

    if (check && read_size(cache_size, &before) < 0) {
        return NULL;
    }
    PyObject *out = invoke(self->jitted, a);
    if (out == NULL) {
        return handle_error(self->on_error, a);
    }
    COUNT_CALL(self);
    if (check && read_size(cache_size, &after) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    if (!check || after != before) {
        return callback(self->on_miss, a, out);
    }
    if (self->on_hit != Py_None && watched_hit(self)) {
        return callback(self->on_hit, a, out);
    }
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
#if PY_VERSION_HEX < 0x030C0000
    /* CPython < 3.12 does not pass vectorcall on to Python subclasses; do it
     * here when the subclass kept our __call__ and our slot layout. */
    if (!PyType_HasFeature(type, Py_TPFLAGS_HAVE_VECTORCALL) &&
        type->tp_call == Forwarder_call &&
        type->tp_vectorcall_offset == offsetof(Forwarder, vectorcall)) {
        type->tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL;
    }
#endif
    Forwarder *self = (Forwarder *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = Forwarder_vectorcall;
    STORE_CALLS(self, 0);
    STORE_WATCH(self, 0);
    STORE_MASK(self, 0);
    return (PyObject *)self;
}

static int
Forwarder_init(Forwarder *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"jitted", "cache_size", "on_miss", "on_error", "on_hit", NULL};
    PyObject *jitted, *cache_size, *on_miss, *on_error, *on_hit = Py_None;
    if (self->jitted != NULL) { /* written once: calls read them without a lock */
        PyErr_SetString(PyExc_TypeError, "Forwarder.__init__() was already called");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO|O:Forwarder", kwlist, &jitted,
                                     &cache_size, &on_miss, &on_error, &on_hit)) {
        return -1;
    }
    PyObject *check[] = {jitted, cache_size, on_miss, on_error, on_hit};
    for (int i = 0; i < 5; i++) {
        int may_be_none = i == 1 || i == 4;
        if (!PyCallable_Check(check[i]) && !(may_be_none && check[i] == Py_None)) {
            PyErr_Format(PyExc_TypeError, "Forwarder() argument '%s' must be callable%s, not %.100s",
                         kwlist[i], may_be_none ? " or None" : "", Py_TYPE(check[i])->tp_name);
            return -1;
        }
    }
    self->on_hit = Py_NewRef(on_hit);
    self->cache_size = Py_NewRef(cache_size);
    self->on_miss = Py_NewRef(on_miss);
    self->on_error = Py_NewRef(on_error);
    self->jitted = Py_NewRef(jitted); /* last: non-NULL means initialised */
    return 0;
}

static int
Forwarder_traverse(Forwarder *self, visitproc visit, void *arg)
{
    Py_VISIT(self->jitted);
    Py_VISIT(self->cache_size);
    Py_VISIT(self->on_miss);
    Py_VISIT(self->on_error);
    Py_VISIT(self->on_hit);
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
    Py_CLEAR(self->on_hit);
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
                                (unsigned long long)LOAD_CALLS(self));
}

static PyObject *
Forwarder_reset_calls(Forwarder *self, PyObject *Py_UNUSED(ignored))
{
    STORE_CALLS(self, 0);
    Py_RETURN_NONE;
}

static PyObject *
Forwarder_watch_hits(Forwarder *self, PyObject *args)
{
    Py_ssize_t count;
    unsigned long long every = 0;
    if (!PyArg_ParseTuple(args, "n|K:watch_hits", &count, &every)) {
        return NULL;
    }
    if (count < 0 || (every & (every - 1)) != 0) {
        PyErr_SetString(PyExc_ValueError,
                        "watch_hits(count, every): count >= 0, every 0 or a power of two");
        return NULL;
    }
    STORE_WATCH(self, count);
    STORE_MASK(self, every ? (uint64_t)(every - 1) : 0);
    Py_RETURN_NONE;
}

static PyObject *
Forwarder_get_watching(Forwarder *self, void *Py_UNUSED(closure))
{
    uint64_t mask = LOAD_MASK(self);
    return Py_BuildValue("(nK)", LOAD_WATCH(self), (unsigned long long)(mask ? mask + 1 : 0));
}

static PyMethodDef Forwarder_methods[] = {
    {"reset_calls", (PyCFunction)Forwarder_reset_calls, METH_NOARGS,
     "Set the call counter back to zero."},
    {"watch_hits", (PyCFunction)Forwarder_watch_hits, METH_VARARGS,
     "watch_hits(count, every=0): call on_hit on the next `count` hits, and on every hit\n"
     "whose call count is a multiple of `every` (a power of two; 0: none)."},
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
    {"on_hit", T_OBJECT, offsetof(Forwarder, on_hit), READONLY,
     "Called as on_hit(args, kwargs) on a watched hit (see watch_hits), or None."},
    {NULL, 0, 0, 0, NULL},
};

static PyObject *
Forwarder_get_calls(Forwarder *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLongLong((unsigned long long)LOAD_CALLS(self));
}

static PyGetSetDef Forwarder_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {"calls", (getter)Forwarder_get_calls, NULL,
     "Number of successful calls since creation or reset_calls().", NULL},
    {"watching", (getter)Forwarder_get_watching, NULL,
     "(hits still watched, sampling interval) as set by watch_hits.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(Forwarder_doc,
             "Forwarder(jitted, cache_size, on_miss, on_error, on_hit=None)\n--\n\n"
             "Call `jitted`, count successful calls, and call on_miss(args, kwargs) when\n"
             "cache_size() changed across the call (always, if cache_size is None).\n"
             "On an Exception, on_error(exc, args, kwargs) may return a replacement.\n"
             "Hits chosen by watch_hits() call on_hit(args, kwargs).");

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

static int
fastcall_exec(PyObject *m)
{
    if (PyType_Ready(&ForwarderType) < 0) {
        return -1;
    }
    return PyModule_AddObjectRef(m, "Forwarder", (PyObject *)&ForwarderType);
}

static PyModuleDef_Slot fastcall_slots[] = {
    {Py_mod_exec, fastcall_exec},
#if PY_VERSION_HEX >= 0x030C0000
    /* ForwarderType is static, shared by all interpreters: no per-interpreter GIL. */
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED},
#endif
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_NOT_USED}, /* why this is safe: see the top of this file */
#endif
    {0, NULL},
};

static struct PyModuleDef fastcall_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "jitmagic.ledger._fastcall",
    .m_doc = "C-level forwarder for the cache-hit hot path of tracked jit functions.",
    .m_size = 0,
    .m_slots = fastcall_slots,
};

PyMODINIT_FUNC
PyInit__fastcall(void)
{
    return PyModuleDef_Init(&fastcall_module);
}

# SPDX-License-Identifier: LGPL-2.1-or-later
"""JobParallel from Python through PyGObject and the Joblib-1.0 typelib."""

import threading

import gi
import pytest

gi.require_version('Joblib', '1.0')
from gi.repository import Gio, GLib, GObject, Joblib  # noqa: E402


def square(args, cancellable):
    x, = args.unpack()
    return GLib.Variant('x', x * x)


def make_calls(function, values, signature='(x)'):
    return [Joblib.Call.new(function, GLib.Variant(signature, (v,)))
            for v in values]


def unpack_all(results):
    return [v.unpack() for v in results]


def run_async(parallel, calls, cancellable=None):
    """Runs parallel.run_async in a main loop; returns (results, error)."""
    loop = GLib.MainLoop()
    outcome = {}

    def done(source, result):
        try:
            outcome['results'] = source.run_finish(result)
        except GLib.Error as e:
            outcome['error'] = e
        loop.quit()

    parallel.run_async(calls, cancellable, done)
    loop.run()
    return outcome.get('results'), outcome.get('error')


def test_python_callable_on_threads():
    threads = set()
    lock = threading.Lock()

    def record_square(args, cancellable):
        with lock:
            threads.add(threading.get_ident())
        return square(args, cancellable)

    function = Joblib.Function.new('square', record_square)
    parallel = Joblib.Parallel.new(2)
    parallel.props.batch_size = 1

    results = parallel.run(make_calls(function, range(40)), None)

    assert unpack_all(results) == [x * x for x in range(40)]
    # the thread backend ran the Python callable off the main thread
    assert threading.get_ident() not in threads
    assert parallel.props.n_jobs == 2


def test_results_in_input_order():
    # later tasks finish first: results still come back in input order
    def slow_first(args, cancellable):
        x, = args.unpack()
        GLib.usleep((20 - x) * 500)
        return GLib.Variant('s', 'item-%d' % x)

    function = Joblib.Function.new('slow_first', slow_first)
    parallel = Joblib.Parallel.new(2)
    parallel.props.batch_size = 1

    results = parallel.run(make_calls(function, range(20), '(i)'), None)

    assert unpack_all(results) == ['item-%d' % x for x in range(20)]


def test_async_run_with_main_loop():
    function = Joblib.Function.new('square', square)
    parallel = Joblib.Parallel.new(2)
    progress = []
    streamed = {}

    parallel.connect('progress', lambda p, done, total: progress.append((done, total)))
    parallel.connect('result', lambda p, index, value: streamed.__setitem__(index, value.unpack()))
    main_thread = threading.get_ident()
    signal_threads = set()
    parallel.connect('progress', lambda *a: signal_threads.add(threading.get_ident()))

    results, error = run_async(parallel, make_calls(function, range(100)))

    assert error is None
    assert unpack_all(results) == [x * x for x in range(100)]
    # every result streamed once, progress counts up to the total
    assert streamed == {x: x * x for x in range(100)}
    assert progress[-1] == (100, 100)
    assert all(total == 100 for _, total in progress)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    # signals arrive on the caller's main context, here the main thread
    assert signal_threads == {main_thread}


def test_glib_error_from_callable():
    def failing(args, cancellable):
        x, = args.unpack()
        if x == 7:
            raise GLib.Error.new_literal(Gio.io_error_quark(), 'seven is missing',
                                         Gio.IOErrorEnum.NOT_FOUND)
        return GLib.Variant('x', x)

    function = Joblib.Function.new('failing', failing)
    parallel = Joblib.Parallel.new(2)

    with pytest.raises(GLib.Error) as info:
        parallel.run(make_calls(function, range(20)), None)

    assert info.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND)
    assert 'task 7 (failing)' in info.value.message
    assert 'seven is missing' in info.value.message

    # the same through the async API
    results, error = run_async(parallel, make_calls(function, range(20)))
    assert results is None
    assert error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND)


def test_python_exception_is_task_failed():
    # PyGObject 3.42 prints a non-GLib exception raised in a callback and
    # returns NULL without a GError: the library reports TASK_FAILED.
    def broken(args, cancellable):
        raise ValueError('not a GLib.Error')

    function = Joblib.Function.new('broken', broken)
    parallel = Joblib.Parallel.new(1)

    with pytest.raises(GLib.Error) as info:
        parallel.run(make_calls(function, [1]), None)

    assert info.value.matches(Joblib.error_quark(), Joblib.Error.TASK_FAILED)
    assert 'broken' in info.value.message
    # the message says what to do
    assert 'Python exception' in info.value.message


def test_wrong_return_type_names_the_cause():
    # PyGObject cannot turn a str into a GVariant: the callback fails
    # without a GError, and the message names the likely cause.
    def wrong(args, cancellable):
        return 'not a variant'

    function = Joblib.Function.new('wrong', wrong)
    with pytest.raises(GLib.Error) as info:
        Joblib.Parallel.new(1).run(make_calls(function, [1]), None)
    assert info.value.matches(Joblib.error_quark(), Joblib.Error.TASK_FAILED)
    assert 'GLib.Variant' in info.value.message


def test_n_jobs_zero_is_invalid():
    function = Joblib.Function.new('square', square)
    parallel = Joblib.Parallel.new(0)

    with pytest.raises(GLib.Error) as info:
        parallel.run(make_calls(function, [1, 2]), None)
    assert info.value.matches(Joblib.error_quark(), Joblib.Error.INVALID_ARGUMENT)

    results, error = run_async(parallel, make_calls(function, [1, 2]))
    assert results is None
    assert error.matches(Joblib.error_quark(), Joblib.Error.INVALID_ARGUMENT)


def test_unknown_backend():
    function = Joblib.Function.new('square', square)
    parallel = Joblib.Parallel(n_jobs=2, backend_name='no-such-backend')

    with pytest.raises(GLib.Error) as info:
        parallel.run(make_calls(function, [1]), None)
    assert info.value.matches(Joblib.error_quark(), Joblib.Error.UNKNOWN_BACKEND)
    assert 'no-such-backend' in info.value.message

    with pytest.raises(GLib.Error) as info:
        Joblib.Backend.new_for_name('no-such-backend')
    assert info.value.matches(Joblib.error_quark(), Joblib.Error.UNKNOWN_BACKEND)


def test_outcomes_collect_errors():
    def odd_fails(args, cancellable):
        x, = args.unpack()
        if x % 2:
            raise GLib.Error.new_literal(Joblib.error_quark(), 'odd', Joblib.Error.FAILED)
        return GLib.Variant('x', x)

    function = Joblib.Function.new('odd_fails', odd_fails)
    parallel = Joblib.Parallel.new(2)

    outcomes = parallel.run_outcomes(make_calls(function, range(6)), None)

    assert [o.get_index() for o in outcomes] == list(range(6))
    assert [o.is_success() for o in outcomes] == [True, False] * 3
    assert [o.get_value().unpack() for o in outcomes if o.is_success()] == [0, 2, 4]


def test_parallel_config_push_pop():
    function = Joblib.Function.new('square', square)
    config = Joblib.ParallelConfig.new()
    config.set_backend_name('sequential')
    config.set_n_jobs(2)

    ran_on = set()

    def where(args, cancellable):
        ran_on.add(threading.get_ident())
        return square(args, cancellable)

    where_function = Joblib.Function.new('where', where)
    # Parallel without n_jobs takes the active config's values
    parallel = Joblib.Parallel()

    config.push()
    try:
        assert Joblib.ParallelConfig.get_current().get_n_jobs() == 2
        assert Joblib.ParallelConfig.get_current().get_backend_name() == 'sequential'
        results = parallel.run(make_calls(where_function, range(10)), None)
    finally:
        config.pop()

    assert unpack_all(results) == [x * x for x in range(10)]
    # the sequential backend runs in the caller
    assert ran_on == {threading.get_ident()}
    assert Joblib.ParallelConfig.get_current().get_backend_name() != 'sequential'

    # after pop, the default n_jobs (1) applies again
    assert unpack_all(parallel.run(make_calls(function, [3]), None)) == [9]


class RecordingBackend(GObject.Object, Joblib.Backend):
    """A backend written in Python: runs each batch in an idle of the
    caller's context and records the batch sizes."""

    __gtype_name__ = 'TestPyRecordingBackend'
    batch_sizes = []

    def do_get_display_name(self):
        return 'PyRecordingBackend'

    def do_run_batch_async(self, batch, cancellable, callback, user_data):
        # PyGObject hands the vfunc a callback that already carries its
        # user_data: it takes (source, result) only.
        task = Gio.Task.new(self, cancellable, callback)
        RecordingBackend.batch_sizes.append(batch.get_n_tasks())

        def execute():
            batch.execute()
            task.return_boolean(True)
            return GLib.SOURCE_REMOVE

        GLib.idle_add(execute)

    def do_run_batch_finish(self, result):
        return result.propagate_boolean()


def test_python_backend_by_name():
    Joblib.Backend.register('py-recording', RecordingBackend)
    assert 'py-recording' in Joblib.Backend.list_names()
    RecordingBackend.batch_sizes = []

    function = Joblib.Function.new('square', square)
    parallel = Joblib.Parallel(n_jobs=2, backend_name='py-recording', batch_size=4)

    results, error = run_async(parallel, make_calls(function, range(30)))

    assert error is None
    assert unpack_all(results) == [x * x for x in range(30)]
    assert RecordingBackend.batch_sizes == [4] * 7 + [2]
    backend = Joblib.Backend.new_for_name('py-recording')
    assert isinstance(backend, RecordingBackend)
    assert backend.get_display_name() == 'PyRecordingBackend'


def iterate_over(function, values, fail_at=None, failure=None):
    """A JobCallIterateFunc over values; at fail_at it calls failure()."""
    items = iter(values)

    def iterate(*_user_data):
        x = next(items, None)
        if x is None:
            return True, None
        if x == fail_at:
            return failure()
        return True, Joblib.Call.new(function, GLib.Variant('(x)', (x,)))
    return iterate


def test_iterate_input_to_its_end():
    function = Joblib.Function.new('square', square)
    parallel = Joblib.Parallel.new(2)
    results = parallel.run_iterate(iterate_over(function, range(1, 30)), None)
    assert unpack_all(results) == [x * x for x in range(1, 30)]
    assert parallel.run_iterate(iterate_over(function, []), None) == []


def raise_value_error():
    raise ValueError('row 5 is broken')


def raise_glib_error():
    raise GLib.Error.new_literal(Gio.io_error_quark(), 'row 5 unreadable',
                                 Gio.IOErrorEnum.INVALID_DATA)


@pytest.mark.parametrize('failure, domain, code, text', [
    # any Python exception: PyGObject prints it and returns (False, None)
    (raise_value_error, 'job-error-quark', int(Joblib.Error.FAILED), 'Python exception'),
    (raise_glib_error, 'g-io-error-quark', int(Gio.IOErrorEnum.INVALID_DATA),
     'row 5 unreadable'),
    (lambda: (False, None), 'job-error-quark', int(Joblib.Error.FAILED), 'without an error'),
    # not a (success, call) pair: PyGObject cannot convert it
    (lambda: None, 'job-error-quark', int(Joblib.Error.FAILED), 'without an error'),
    (lambda: (True, 42), 'job-error-quark', int(Joblib.Error.FAILED), 'without an error'),
])
def test_iterate_input_failure_fails_the_run(failure, domain, code, text):
    # The same failures through run_source end the run early but
    # "successfully"; run_iterate tells them from the end.
    function = Joblib.Function.new('square', square)
    parallel = Joblib.Parallel.new(2)
    with pytest.raises(GLib.Error) as info:
        parallel.run_iterate(iterate_over(function, range(1, 30), 5, failure), None)
    assert (info.value.domain, info.value.code) == (domain, code)
    assert info.value.message.startswith('The input of the parallel run failed: ')
    assert text in info.value.message

    outcome = {}
    loop = GLib.MainLoop()

    def done(source, result):
        try:
            outcome['results'] = source.run_iterate_finish(result)
        except GLib.Error as error:
            outcome['error'] = error
        loop.quit()

    parallel.run_iterate_async(iterate_over(function, range(1, 30), 5, failure),
                                cancellable=None, callback=done)
    loop.run()
    assert 'results' not in outcome
    assert (outcome['error'].domain, outcome['error'].code) == (domain, code)


def test_iterate_bad_arguments():
    parallel = Joblib.Parallel.new(2)
    with pytest.raises(TypeError):
        parallel.run_iterate(42, None)
    with pytest.raises(TypeError):
        parallel.run_iterate(lambda *a: (True, None), cancellable='not a cancellable')

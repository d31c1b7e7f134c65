namespace Observability.AspNetCore.Core;

/// <summary>
/// The app's once-a-second passes (hung requests, suppressed-warning summaries, the CPU sample) on one dedicated
/// thread, as Kestrel runs its own heartbeat. A thread-pool timer would wake a pool thread for every pass, and on a
/// container limited to one CPU that thread spins (<c>sched_yield</c>) before it sleeps again: three such timers cost an
/// idle app 1-2 ms of CPU a second and 600-800 context switches (measured on one pinned core), where this thread costs
/// one wake-up a second.
/// </summary>
/// <remarks>
/// A pass runs under <see cref="_running"/>, so once a registration is disposed its pass neither runs nor is still
/// running: a monitor's <c>StopAsync</c> keeps the guarantee its own loop used to give. A pass that throws is reported
/// through Serilog's SelfLog; the next second tries again.
/// </remarks>
internal sealed class Heartbeat : IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly Lock _running = new();
    private readonly ManualResetEventSlim _stopping = new();
    private Registration[] _passes = [];
    private Thread? _thread;

    /// <summary>Runs <paramref name="pass"/> once a second until the returned registration is disposed.</summary>
    public IDisposable Register(string name, Action pass)
    {
        var registration = new Registration(this, name, pass);
        lock (_running)
        {
            ObjectDisposedException.ThrowIf(_stopping.IsSet, this);
            _passes = [.. _passes, registration];
            if (_thread is null)
            {
                _thread = new Thread(static state => ((Heartbeat)state!).Run())
                {
                    IsBackground = true,
                    Name = "Observability Heartbeat",
                };
                _thread.UnsafeStart(this);
            }
        }

        return registration;
    }

    public void Dispose()
    {
        Thread? thread;
        lock (_running)
        {
            _passes = [];
            thread = _thread;
            _stopping.Set();
        }

        thread?.Join();
        _stopping.Dispose();
    }

    private void Run()
    {
        while (!_stopping.Wait(Interval))
        {
            lock (_running)
            {
                foreach (var registration in _passes)
                {
                    try
                    {
                        registration.Pass();
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        Serilog.Debugging.SelfLog.WriteLine("{0} pass failed: {1}", registration.Name, ex);
                    }
                }
            }
        }
    }

    private void Remove(Registration registration)
    {
        lock (_running)
        {
            _passes = Array.FindAll(_passes, r => !ReferenceEquals(r, registration));
        }
    }

    private sealed class Registration(Heartbeat heartbeat, string name, Action pass) : IDisposable
    {
        public string Name { get; } = name;

        public Action Pass { get; } = pass;

        public void Dispose() => heartbeat.Remove(this);
    }
}

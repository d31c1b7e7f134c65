using System.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Observability.AspNetCore.SlowQueries;

/// <summary>
/// Sees every Npgsql command, with or without EF Core, through Npgsql's own <c>ActivitySource</c> ("Npgsql"): nothing
/// for the app to adopt. The listener asks for <see cref="ActivitySamplingResult.AllData"/> (the tags, so the query text)
/// and never for <see cref="ActivitySamplingResult.AllDataAndRecorded"/>: an activity nobody else samples stays
/// unrecorded, so the app's tracing exports exactly what it exported before, and a sampled one stays as sampled.
/// </summary>
/// <remarks>
/// An <see cref="ActivityListener"/> is process-wide, so there is one for the process, shared by every host in it (two
/// apps, or parallel tests). With one host (the usual case) every command goes to it. With several, a command goes to
/// the host whose request ran it, found through the request's services; a command outside any request then belongs to
/// no host in particular and is left out rather than counted in the wrong one (EF Core's interceptor, which knows its
/// host, reports such commands itself: see <see cref="Sees"/>).
/// </remarks>
internal static class NpgsqlCommandListener
{
    public const string SourceName = "Npgsql";

    private static readonly Lock Sync = new();
    private static readonly HttpContextAccessor Accessor = new(); // the current request is an AsyncLocal shared by all accessors
    private static SlowQueryMonitor[] _monitors = [];
    private static ActivityListener? _listener;
    private static int _failureReported;

    /// <summary>
    /// Whether a command that runs now is reported through this listener: some host listens (Npgsql then creates an
    /// activity for every command) and the command can be told to a host (there is only one, or it runs in a request).
    /// </summary>
    public static bool Sees(bool inRequest) => Volatile.Read(ref _monitors).Length switch
    {
        0 => false,
        1 => true,
        _ => inRequest,
    };

    public static void Register(SlowQueryMonitor monitor)
    {
        lock (Sync)
        {
            _monitors = [.. _monitors, monitor];
            if (_listener is null)
            {
                _listener = new ActivityListener
                {
                    ShouldListenTo = static source => source.Name == SourceName,
                    Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
                    SampleUsingParentId = static (ref ActivityCreationOptions<string> _) => ActivitySamplingResult.AllData,
                    ActivityStopped = OnStopped,
                };
                ActivitySource.AddActivityListener(_listener);
            }
        }
    }

    public static void Unregister(SlowQueryMonitor monitor)
    {
        lock (Sync)
        {
            var index = Array.IndexOf(_monitors, monitor);
            if (index < 0)
            {
                return;
            }

            _monitors = [.. _monitors[..index], .. _monitors[(index + 1)..]];
            if (_monitors.Length == 0 && _listener is not null)
            {
                _listener.Dispose();
                _listener = null;
            }
        }
    }

    private static void OnStopped(Activity activity)
    {
        try
        {
            var monitors = Volatile.Read(ref _monitors);
            var monitor = monitors.Length switch
            {
                0 => null,
                1 => monitors[0],
                _ => Pick(monitors),
            };
            monitor?.OnNpgsqlActivity(activity);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Never into the app's command: a failure here is reported once, and the command goes on as if unobserved.
            if (Interlocked.Exchange(ref _failureReported, 1) == 0)
            {
                Serilog.Debugging.SelfLog.WriteLine("Observability: the Npgsql command listener failed and skips the commands it cannot read: {0}", ex);
            }
        }
    }

    private static SlowQueryMonitor? Pick(SlowQueryMonitor[] monitors) =>
        Accessor.HttpContext?.RequestServices?.GetService(typeof(SlowQueryMonitor)) is SlowQueryMonitor own && Array.IndexOf(monitors, own) >= 0
            ? own
            : null;
}

namespace Observability.AspNetCore.Core;

/// <summary>
/// The database commands of one request that more than one feature reads: how many and their total time (the
/// completion event's <c>DbCommands</c>/<c>DbElapsed</c>). The slow-query feature creates it (its subclass also counts
/// command shapes) on the request's first command. Commands of one request may run in parallel (several contexts,
/// <c>Task.WhenAll</c>), hence the lock; it is uncontended in the usual case.
/// </summary>
internal class RequestDbStats
{
    private int _commands;
    private long _elapsedTicks;

    /// <summary>Held while a command is added; a subclass counts what it keeps under it too.</summary>
    protected Lock Sync { get; } = new();

    /// <summary>Commands the request ran so far.</summary>
    public int Commands => Volatile.Read(ref _commands);

    /// <summary>Their total time in milliseconds (commands run in parallel add up).</summary>
    public double ElapsedMs => TimeSpan.FromTicks(Interlocked.Read(ref _elapsedTicks)).TotalMilliseconds;

    /// <summary>Counts one command; called with <see cref="Sync"/> held.</summary>
    protected void AddCommand(TimeSpan duration)
    {
        _commands++;
        _elapsedTicks += duration.Ticks;
    }
}

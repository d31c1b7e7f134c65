namespace Observability.AspNetCore;

/// <summary>
/// Slow-query and repeated-query (N+1) detection for database commands run through EF Core (any relational provider)
/// or Npgsql, bound from <c>Observability:SlowQueries</c>. Every command is timed and counted whatever these settings.
/// </summary>
public sealed class SlowQueryOptions
{
    /// <summary>
    /// A database command slower than this writes one Warning event and counts in <c>db_slow_queries_total</c>
    /// (<c>Observability:SlowQueries:ThresholdMs</c>, default 500; 0 disables the warning; negative is a startup error).
    /// </summary>
    public int ThresholdMs { get; set; } = 500;

    /// <summary>
    /// The command text in a warning is cut to this many characters, the last one then being <c>…</c>
    /// (<c>Observability:SlowQueries:MaxCommandTextLength</c>, default 1000; at least 1).
    /// </summary>
    public int MaxCommandTextLength { get; set; } = 1000;

    /// <summary>
    /// Whether literals written into the SQL (strings, numbers, dollar-quoted bodies) are replaced by <c>?</c> in the
    /// command text of a warning (<c>Observability:SlowQueries:RedactLiterals</c>, default true). Parameter values are
    /// never logged either way; parameter placeholders such as <c>$1</c> or <c>@p0</c> are kept.
    /// </summary>
    public bool RedactLiterals { get; set; } = true;

    /// <summary>
    /// When one command text (literals ignored) runs this many times or more within one request, one Warning event
    /// names it at the end of the request and <c>db_repeated_queries_total</c> counts it
    /// (<c>Observability:SlowQueries:RepeatedQueryThreshold</c>, default 10; 0 disables; otherwise at least 2).
    /// </summary>
    public int RepeatedQueryThreshold { get; set; } = 10;

    /// <summary>
    /// At most this many slow-query and repeated-query warnings per second for the whole app; the excess is still
    /// counted in the metrics and summarised by one event per second
    /// (<c>Observability:SlowQueries:MaxWarningsPerSecond</c>, default 20; at least 1).
    /// </summary>
    public int MaxWarningsPerSecond { get; set; } = 20;
}

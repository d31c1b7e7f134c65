namespace Observability.AspNetCore.IntegrationTests.Infrastructure;

/// <summary>
/// The Prometheus project's own validators (<c>promtool</c>, <c>amtool</c>) as an oracle: if they accept
/// our exposition / rules / alertmanager config, real Prometheus will too.
/// </summary>
public static class PromTools
{
    // A bound against a hung tool, not a speed check: the SLO rule cases take promtool ~13 s on a quiet machine and
    // over 60 s when eight builds share its two cores.
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(240);

    /// <summary>
    /// Lints a Prometheus text exposition with <c>promtool check metrics</c> (fed on stdin).
    /// Exit code 0 = clean; promtool uses 3 for lint problems (e.g. a counter without <c>_total</c>,
    /// missing HELP) and 1 for text that does not parse. Problems are reported on stderr.
    /// </summary>
    public static Task<ToolResult> CheckMetricsAsync(string exposition, CancellationToken cancellationToken = default) =>
        ProcessRunner.RunAsync(
            ProcessRunner.RequireOnPath("promtool", "prometheus"),
            ["check", "metrics"],
            DefaultTimeout,
            standardInput: exposition,
            cancellationToken: cancellationToken);

    /// <summary>
    /// Runs <paramref name="tool"/> (e.g. "promtool" or "amtool") with the given arguments, e.g.
    /// <c>RunAsync("promtool", "check", "rules", path)</c> or <c>RunAsync("amtool", "check-config", path)</c>.
    /// Never throws on a non-zero exit code; throws <see cref="TimeoutException"/> after 60 s.
    /// </summary>
    public static Task<ToolResult> RunAsync(string tool, params string[] args) =>
        ProcessRunner.RunAsync(
            ProcessRunner.RequireOnPath(tool, tool == "amtool" ? "prometheus-alertmanager" : "prometheus"),
            args,
            DefaultTimeout);
}

using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Observability.AspNetCore;
using Observability.Benchmarks.Harness;

namespace Observability.Benchmarks.Jobs;

/// <summary>
/// What <see cref="IJobRunner"/> adds to one run of trivial work: the run scope, the timing, the metrics and the
/// completion event (written to the library's stdout sink over a stream that discards), without and with one event
/// the work writes itself, and with the completion event filtered out by the level.
/// </summary>
[MemoryDiagnoser]
public class JobRunBenchmarks
{
    private static readonly Func<CancellationToken, Task> Trivial = static _ => Task.CompletedTask;

    private MiddlewareHost _defaults = null!;
    private MiddlewareHost _warningsOnly = null!;
    private IJobRunner _jobs = null!;
    private IJobRunner _quietJobs = null!;
    private Func<CancellationToken, Task> _logsOnce = null!;

    [GlobalSetup]
    public void Setup()
    {
        _defaults = MiddlewareHost.Create(new Dictionary<string, string?>(), BenchRequest.StartResponse);
        _warningsOnly = MiddlewareHost.Create(new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Warning" }, BenchRequest.StartResponse);
        _jobs = _defaults.Services.GetRequiredService<IJobRunner>();
        _quietJobs = _warningsOnly.Services.GetRequiredService<IJobRunner>();
        var logger = _defaults.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Bench.Worker");
        _logsOnce = ct =>
        {
            logger.LogInformation("Sending to {To}", "ada@example.com");
            return Task.CompletedTask;
        };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _defaults.Dispose();
        _warningsOnly.Dispose();
    }

    [Benchmark(Baseline = true, Description = "work alone")]
    public Task WorkAlone() => Trivial(CancellationToken.None);

    [Benchmark(Description = "run, completion event filtered out")]
    public Task<JobRunResult> RunWithoutEvent() => _quietJobs.RunAsync("send-email", Trivial, CancellationToken.None);

    [Benchmark(Description = "run + completion event")]
    public Task<JobRunResult> RunWithCompletionEvent() => _jobs.RunAsync("send-email", Trivial, CancellationToken.None);

    [Benchmark(Description = "run + completion event + one app event")]
    public Task<JobRunResult> RunWithAppEvent() => _jobs.RunAsync("send-email", _logsOnce, CancellationToken.None);
}

using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Observability.AspNetCore.IntegrationTests.Infrastructure;

namespace Observability.AspNetCore.IntegrationTests.Benchmarks;

/// <summary>
/// eng/bench.sh is not part of the test command (timings on a shared machine are noise), so nothing else would notice
/// when it, the benchmark apps or the micro-benchmarks stop building or running. This runs it in smoke mode: one short
/// round of every step (publish, ReadyToRun included, the OTLP receiver, one start-up round, start every variant,
/// warm-up, an idle spell, alternation, cardinality, each micro-benchmark once) and checks that the report came out.
/// No timing is asserted.
/// </summary>
public sealed class BenchScriptSmokeTests
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(12);

    [Fact]
    public async Task Bench_script_in_smoke_mode_runs_every_step_and_prints_the_report()
    {
        var root = FindRepositoryRoot();
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            // Set by the test host's own dotnet; inherited, they would point the script's MSBuild at the wrong SDK parts.
            ["MSBuildExtensionsPath"] = null,
            ["MSBuildSDKsPath"] = null,
            ["MSBUILD_EXE_PATH"] = null,
        };

        var result = await ProcessRunner.RunAsync(
            "bash",
            [Path.Combine(root, "eng", "bench.sh"), "--smoke"],
            ScriptTimeout,
            workingDirectory: root,
            environment: environment);

        Assert.True(result.Succeeded, $"eng/bench.sh --smoke failed with {result}");
        var report = result.Stdout;
        Assert.Contains("## Load benchmark: paired ratios to bare", report, StringComparison.Ordinal);
        Assert.Contains("### GET /api/items/{id}", report, StringComparison.Ordinal);
        Assert.Contains("### GET /ping", report, StringComparison.Ordinal);
        var variants = new[]
        {
            "bare (baseline)", "**observability-defaults**", "hand-assembled", "prometheus-net only", "Serilog request logging only",
            "reference prototype (the issue's, rebuilt)", "defaults + tracing (OTLP, sampling 1.0)", "OpenTelemetry ASP.NET Core instrumentation + OTLP only",
        };
        foreach (var variant in variants)
        {
            Assert.Contains($"| {variant} |", report, StringComparison.Ordinal);
        }

        // Issue 21: the tracing variants ran in the same rounds, so the cost of tracing is stated per endpoint.
        Assert.Equal(2, Regex.Count(report, @"Tracing \(issue 21\), extra CPU/req over bare's, per round: defaults \+ tracing [+-]\d+\.\d\d, OpenTelemetry alone [+-]\d+\.\d\d, defaults [+-]\d+\.\d\d; excess = \(defaults-tracing − bare\) − \[\(otel-only − bare\) \+ \(defaults − bare\)\] = \*\*[+-]\d+\.\d\d\*\* \[[+-]\d+\.\d\d–[+-]\d+\.\d\d\] \([+-]\d+\.\d\d µs/req\) over 1 rounds\. Aim \(excess ≤ 0\): \*\*(met|missed)\*\*"));

        // Both exported their spans to the local receiver, which counted them per variant.
        foreach (var variant in new[] { "defaults + tracing (OTLP, sampling 1.0)", "OpenTelemetry ASP.NET Core instrumentation + OTLP only" })
        {
            var row = Regex.Match(report, $@"\| {Regex.Escape(variant)} \| (?<spans>\d+) \| (?<requests>\d+) \| \d+\.\d\d \| [1-9]\d* \| [1-9]\d* \|");
            Assert.True(row.Success, $"no OTLP receiver row for {variant} in:\n{report}");
            Assert.True(long.Parse(row.Groups["spans"].Value, CultureInfo.InvariantCulture) * 2 >= long.Parse(row.Groups["requests"].Value, CultureInfo.InvariantCulture), row.Value);
        }

        // Issue 19: time to first response and memory after it, for every variant, as values and differences to bare.
        Assert.Contains("## Start-up: first response and memory after it, one server at a time", report, StringComparison.Ordinal);
        Assert.Matches(@"\| bare \(baseline\) \| \d+ \(\d+–\d+\) \| – \| \d+\.\d \| – \|", report);
        foreach (var variant in variants[1..])
        {
            Assert.Matches($@"\| {Regex.Escape(variant)} \| \d+ \(\d+–\d+\) \| [+-]\d+ \| \d+\.\d \| [+-]\d+\.\d \|", report);
        }

        // Bare and the defaults app published ReadyToRun: start-up rows only (never warm-served, so one row each), each
        // with its difference to bare, and what the library adds to bare when both are published that way.
        foreach (var variant in new[] { "bare, ReadyToRun", "**observability-defaults**, ReadyToRun" })
        {
            Assert.Single(Regex.Matches(report, $@"\| {Regex.Escape(variant)} \|"));
            Assert.Matches($@"\| {Regex.Escape(variant)} \| \d+ \(\d+–\d+\) \| [+-]\d+ \| \d+\.\d \| [+-]\d+\.\d \|", report);
        }

        Assert.Matches(@"\| \*\*observability-defaults\*\*, ReadyToRun \| [^\n]+\n\| ↳ Δ bare, ReadyToRun \| – \| [+-]\d+ \| – \| [+-]\d+\.\d \|", report);

        Assert.Matches(@"Issue 19's aim for the defaults app \(no database or Redis configured\): first response within \+50 ms and RSS within \+10 MiB of bare: \*\*(met|missed)\*\* \([+-]\d+ ms, [+-]\d+\.\d MiB\)\.", report);

        Assert.Contains("## Cardinality", report, StringComparison.Ordinal);

        // Every server's CPU and wake-ups with no requests, as numbers.
        Assert.Contains("## Idle: 3 s with no requests, every server up", report, StringComparison.Ordinal);
        Assert.Matches(@"\| \*\*observability-defaults\*\* \| \d+\.\d \| \d+ \|", report);
        Assert.Matches(@"\| bare \(baseline\) \| \d+\.\d \| \d+ \|", report);
        Assert.Contains("### RequestPathBenchmarks", report, StringComparison.Ordinal);
        Assert.Contains("### SlowQueryBenchmarks", report, StringComparison.Ordinal);
        Assert.DoesNotContain("non-2xx responses during the measured windows", report, StringComparison.Ordinal);
        // How much of the run's CPU time the hypervisor gave to other guests, to read the figures by.
        Assert.Matches(@"hypervisor steal during the paired rounds: CPU \d+ \d+%, CPU \d+ \d+%", report);

        // The code it measured, so runs can be pooled (eng/bench-pool.sh), which must read this run as it was written.
        Assert.Matches(@"- Code measured: [0-9a-f]{12}", report);
        var pooled = await ProcessRunner.RunAsync(
            "bash",
            [Path.Combine(root, "eng", "bench-pool.sh"), "--allow-mixed-code", Path.Combine(root, "artifacts", "bench-smoke")],
            TimeSpan.FromSeconds(30),
            workingDirectory: root);
        Assert.True(pooled.Succeeded, $"eng/bench-pool.sh on the smoke run failed with {pooled}");
        Assert.Matches(@"\| observability-defaults \| 1 \| \d+\.\d\d \(", pooled.Stdout);
        Assert.Contains("Bar (≥ 0.85× req/s, ≤ 1.20× CPU/req) on the pooled medians:", pooled.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"\| observability-defaults ÷ the reference prototype \(same round\) \| 1 \| \d+\.\d\d \(", pooled.Stdout);
        Assert.Contains("Against the reference prototype in the same rounds", pooled.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"\| observability-defaults ÷ hand-assembled \(same round\) \| 1 \| \d+\.\d\d \(", pooled.Stdout);
        Assert.Equal(2, Regex.Count(pooled.Stdout, @"excess = \(defaults-tracing − bare\) − \[\(otel-only − bare\) \+ \(defaults − bare\)\] = \*\*[+-]\d+\.\d\d\*\* \[[+-]\d+\.\d\d–[+-]\d+\.\d\d\] over 1 rounds\."));

        // The defaults app wrote one CLEF completion event per request to its stdout sink, as a user's shipper reads it.
        var sample = await File.ReadAllTextAsync(Path.Combine(root, "artifacts", "bench-smoke", "run", "observability-defaults.sample.log"));
        Assert.Contains("\"@mt\":", sample, StringComparison.Ordinal);
        Assert.Contains("\"RequestId\":", sample, StringComparison.Ordinal);

        // The opt-in reference prototype ran too (smoke mode runs every app) and wrote its own CLEF completion events.
        var prototypeSample = await File.ReadAllTextAsync(Path.Combine(root, "artifacts", "bench-smoke", "run", "reference-prototype.sample.log"));
        Assert.Contains("\"@mt\":\"{RequestMethod} {RequestPath} responded", prototypeSample, StringComparison.Ordinal);
        Assert.Contains("\"RequestId\":", prototypeSample, StringComparison.Ordinal);
    }

    /// <summary>
    /// Above the test's output folder (the usual layout), else above this source file (a build with its output
    /// elsewhere, e.g. --artifacts-path; not in CI, where deterministic builds map source paths to /_/).
    /// </summary>
    internal static string FindRepositoryRoot([CallerFilePath] string sourceFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? string.Empty })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Observability.sln")) && File.Exists(Path.Combine(directory.FullName, "eng", "bench.sh")))
                {
                    return directory.FullName;
                }
            }
        }

        throw new InvalidOperationException($"No repository root (Observability.sln with eng/bench.sh) above {AppContext.BaseDirectory} or {sourceFile}.");
    }
}

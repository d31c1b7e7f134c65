using System.Diagnostics;
using System.Globalization;
using System.Text;
using Prometheus;

namespace Observability.AspNetCore.Tests.Metrics.Bridge;

/// <summary>What Prometheus sees: the registry's text exposition, and promtool's verdict on it.</summary>
internal static class ScrapeText
{
    private const string PromtoolPath = "/usr/bin/promtool";

    /// <summary>A meter name no other test uses: a MeterListener sees every meter in the process.</summary>
    public static string UniqueMeterName(string purpose) => "Obs.Tests." + purpose + "." + Guid.NewGuid().ToString("N");

    public static async Task<string> ScrapeAsync(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static string[] Lines(string exposition) => exposition.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The sample lines of a metric family member: <c>name</c> or <c>name{...}</c>.</summary>
    public static string[] Samples(string exposition, string name) =>
        [.. Lines(exposition).Where(l => l.StartsWith(name + " ", StringComparison.Ordinal) || l.StartsWith(name + "{", StringComparison.Ordinal))];

    /// <summary>The value of the one sample line that starts with <paramref name="series"/> (a name, with labels if any).</summary>
    public static double Value(string exposition, string series)
    {
        var matches = Lines(exposition).Where(l => l.StartsWith(series + " ", StringComparison.Ordinal)).ToArray();
        Assert.True(matches.Length == 1, $"Expected one sample '{series}', found {matches.Length} in:\n{exposition}");
        return double.Parse(matches[0][(series.Length + 1)..].Split(' ')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>Runs <c>promtool check metrics</c> on the exposition; never skipped: a missing promtool fails the test.</summary>
    public static async Task<(int ExitCode, string Output)> PromtoolCheckMetricsAsync(string exposition)
    {
        Assert.True(
            File.Exists(PromtoolPath),
            $"promtool is required at {PromtoolPath} (Debian package 'prometheus'): the exposition must be checked by the real linter, so this test is never skipped.");

        var start = new ProcessStartInfo(PromtoolPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("check");
        start.ArgumentList.Add("metrics");

        using var process = Process.Start(start) ?? throw new InvalidOperationException("promtool did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var bytes = Encoding.UTF8.GetBytes(exposition);
        await process.StandardInput.BaseStream.WriteAsync(bytes);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await stdout) + (await stderr));
    }
}

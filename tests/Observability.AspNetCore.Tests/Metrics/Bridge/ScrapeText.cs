using System.Diagnostics;
using System.Text;
using Prometheus;

namespace Observability.AspNetCore.Tests.Metrics.Bridge;

/// <summary>What Prometheus sees: the registry's text exposition (read it with <see cref="Support.Exposition"/>), and promtool's verdict on it.</summary>
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

using System.Globalization;
using System.Text.Json;

namespace Observability.AspNetCore.IntegrationTests.Infrastructure;

/// <summary>
/// A real Alertmanager (the Debian <c>prometheus-alertmanager</c> binary) with a config we write, on a free 127.0.0.1
/// port, clustering off, storage in a temp dir, killed and deleted on dispose.
/// </summary>
/// <remarks>
/// Proves what <c>amtool check-config</c> cannot: how alerts that a real Prometheus sends are grouped, routed and
/// delivered (<c>/api/v2/alerts/groups</c>, and the webhook a receiver points at).
/// </remarks>
public sealed class AlertmanagerServer : LoopbackServerProcess
{
    private AlertmanagerServer(TempDirectory directory, int port)
        : base("alertmanager", directory, port)
    {
    }

    /// <summary><c>127.0.0.1:PORT</c>, as a Prometheus <c>alertmanagers</c> target.</summary>
    public string Target => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Writes <paramref name="configYaml"/> as alertmanager.yml and starts Alertmanager, returning once <c>/-/ready</c> answers 200.</summary>
    public static Task<AlertmanagerServer> StartAsync(string configYaml, CancellationToken cancellationToken = default)
    {
        var executable = ProcessRunner.RequireOnPath("prometheus-alertmanager", "prometheus-alertmanager");
        return StartWithRetryAsync(
            () => new AlertmanagerServer(TempDirectory.Create("obs-am"), FreePort.Next()),
            server => server.LaunchAsync(executable, configYaml, cancellationToken));
    }

    /// <summary>GET an API path (e.g. <c>/api/v2/alerts/groups</c>) and parse the JSON body.</summary>
    public async Task<JsonDocument> GetAsync(string pathAndQuery, CancellationToken cancellationToken = default)
    {
        var (status, body) = await GetStringAsync(pathAndQuery, cancellationToken);
        if ((int)status is < 200 or > 299)
        {
            throw new InvalidOperationException($"Alertmanager answered GET {pathAndQuery} with {(int)status}:\n{body}");
        }

        return JsonDocument.Parse(body);
    }

    private async Task LaunchAsync(string executable, string configYaml, CancellationToken cancellationToken)
    {
        await File.WriteAllTextAsync(WorkDirectory.Combine("alertmanager.yml"), configYaml, cancellationToken);
        string[] arguments =
        [
            $"--config.file={WorkDirectory.Combine("alertmanager.yml")}",
            $"--storage.path={WorkDirectory.Combine("data")}",
            $"--web.listen-address={Target}",
            // Empty turns the gossip cluster off: it would otherwise listen on 0.0.0.0:9094 and wait for peers.
            "--cluster.listen-address=",
        ];
        await StartProcessAsync(executable, arguments, cancellationToken);
    }
}

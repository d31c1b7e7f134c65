using System.Net;
using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.Metrics;

/// <summary><c>Observability:Metrics:AllowedNetworks</c>, parsed once: who may read the scrape endpoint.</summary>
internal sealed class MetricsAllowList(IOptions<ObservabilityOptions> options)
{
    private readonly IPNetwork[] _allowedNetworks = options.Value.Metrics.AllowedNetworks is { Count: > 0 } networks
        ? [.. networks.Select(IPNetwork.Parse)]
        : [];

    /// <summary>True when the caller may read the metrics endpoint: no allow list, or its address is in a listed network.</summary>
    public bool IsAllowed(IPAddress? remote)
    {
        if (_allowedNetworks.Length == 0)
        {
            return true;
        }

        if (remote is null)
        {
            return false;
        }

        if (remote.IsIPv4MappedToIPv6)
        {
            remote = remote.MapToIPv4();
        }

        foreach (var network in _allowedNetworks)
        {
            if (network.Contains(remote))
            {
                return true;
            }
        }

        return false;
    }
}

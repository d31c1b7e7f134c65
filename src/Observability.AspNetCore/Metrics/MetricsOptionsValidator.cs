using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Metrics;

/// <summary>Validates <c>Observability:Metrics</c> at startup, naming the key and the bad value.</summary>
internal sealed class MetricsOptionsValidator : IValidateOptions<ObservabilityOptions>
{
    public ValidateOptionsResult Validate(string? name, ObservabilityOptions options)
    {
        var failures = new ValidateOptionsResultBuilder();
        var metrics = options.Metrics;
        if (!LiteralPath.IsValid(metrics.Path))
        {
            failures.AddError($"Observability:Metrics:Path {LiteralPath.Rule}; was '{metrics.Path}'.");
        }

        if (!string.IsNullOrEmpty(metrics.Prefix) && !IsMetricNamePrefix(metrics.Prefix))
        {
            failures.AddError($"Observability:Metrics:Prefix must start with a letter or '_' and contain only letters, digits and '_'; was '{metrics.Prefix}'.");
        }

        if (metrics.AllowedNetworks is { } networks)
        {
            for (var i = 0; i < networks.Count; i++)
            {
                if (!IPNetwork.TryParse(networks[i], out _))
                {
                    failures.AddError($"Observability:Metrics:AllowedNetworks:{i} must be a network in CIDR notation such as 10.0.0.0/8 or ::1/128; was '{networks[i]}'.");
                }
            }
        }

        if (metrics.DurationBuckets is { } buckets)
        {
            if (buckets.Count == 0)
            {
                failures.AddError("Observability:Metrics:DurationBuckets must not be empty when set.");
            }

            for (var i = 0; i < buckets.Count; i++)
            {
                if (!double.IsFinite(buckets[i]) || buckets[i] <= 0 || (i > 0 && buckets[i] <= buckets[i - 1]))
                {
                    failures.AddError($"Observability:Metrics:DurationBuckets:{i} must be positive, finite and greater than the bucket before it; was {buckets[i].ToString(CultureInfo.InvariantCulture)}.");
                }
            }
        }

        ValidateNonBlank("Observability:Metrics:Meters", metrics.Meters, failures);
        ValidateNonBlank("Observability:Metrics:ExcludeMeters", metrics.ExcludeMeters, failures);
        if (metrics.ExcludePaths is { } paths)
        {
            for (var i = 0; i < paths.Count; i++)
            {
                ValidatePath($"Observability:Metrics:ExcludePaths:{i}", paths[i], failures);
            }
        }

        return failures.Build();
    }

    private static void ValidatePath(string key, string? path, ValidateOptionsResultBuilder failures)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/' || path.Any(char.IsWhiteSpace))
        {
            failures.AddError($"{key} must start with '/' and contain no white space; was '{path}'.");
        }
    }

    private static void ValidateNonBlank(string key, IList<string>? values, ValidateOptionsResultBuilder failures)
    {
        if (values is null)
        {
            return;
        }

        for (var i = 0; i < values.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(values[i]))
            {
                failures.AddError($"{key}:{i} must not be blank; was '{values[i]}'.");
            }
        }
    }

    private static bool IsMetricNamePrefix(string prefix)
    {
        if (!(char.IsAsciiLetter(prefix[0]) || prefix[0] == '_'))
        {
            return false;
        }

        foreach (var c in prefix)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Logging;

namespace Observability.AspNetCore.Hosting;

/// <summary>
/// Validates <see cref="ObservabilityOptions"/> at startup. Hand-written, because the source-generated
/// <c>[OptionsValidator]</c> names neither the configuration key nor the bad value, and both are what an operator
/// needs to fix a deployment.
/// </summary>
internal sealed class ObservabilityOptionsValidator(IConfiguration configuration) : IValidateOptions<ObservabilityOptions>
{
    private const int MaxStdoutBufferBytes = 1024 * 1024 * 1024;

    public ValidateOptionsResult Validate(string? name, ObservabilityOptions options)
    {
        var failures = new ValidateOptionsResultBuilder();

        if (options.ServiceName is not null && string.IsNullOrWhiteSpace(options.ServiceName))
        {
            failures.AddError($"Observability:ServiceName must not be blank when set; was '{options.ServiceName}'.");
        }

        if (options.ServiceVersion is not null && string.IsNullOrWhiteSpace(options.ServiceVersion))
        {
            failures.AddError($"Observability:ServiceVersion must not be blank when set; was '{options.ServiceVersion}'.");
        }

        if (!HeaderNames.IsValidHeaderName(options.RequestId.Header))
        {
            failures.AddError($"Observability:RequestId:Header must be a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~); was '{options.RequestId.Header}'.");
        }
        else if (HeaderNames.IsReserved(options.RequestId.Header))
        {
            failures.AddError($"Observability:RequestId:Header must not be a header HTTP, the server or browsers give a meaning to (Content-*, Accept*, If-*, hop-by-hop headers such as Connection or Transfer-Encoding, Host, Date, Set-Cookie, Location, X-Forwarded-*, X-Response-Time, ...); was '{options.RequestId.Header}'.");
        }

        ConfiguredEnumNames.Validate(configuration, failures);

        var logging = options.Logging;
        if (!Enum.IsDefined(logging.Format))
        {
            failures.AddError($"Observability:Logging:Format must be one of Json, Text; was '{logging.Format}'.");
        }

        if (!Enum.IsDefined(logging.OwnEndpointsLevel))
        {
            failures.AddError($"Observability:Logging:OwnEndpointsLevel must be one of Trace, Debug, Information, Warning, Error, Critical, None; was '{logging.OwnEndpointsLevel}'.");
        }

        if (logging.StdoutBufferBytes is < LogLineSink.MinCapacity or > MaxStdoutBufferBytes)
        {
            failures.AddError($"Observability:Logging:StdoutBufferBytes must be from {LogLineSink.MinCapacity} (128 KiB) to {MaxStdoutBufferBytes} (1 GiB); was '{logging.StdoutBufferBytes}'.");
        }

        if (logging.SensitiveQueryKeys is { } keys)
        {
            for (var i = 0; i < keys.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(keys[i]))
                {
                    failures.AddError($"Observability:Logging:SensitiveQueryKeys:{i} must not be blank; was '{keys[i]}'.");
                }
            }
        }

        ValidateMetrics(options.Metrics, failures);
        ValidateSlowRequests(options.SlowRequests, failures);
        ValidateSlowQueries(options.SlowQueries, failures);
        return failures.Build();
    }

    private static void ValidateSlowQueries(SlowQueryOptions queries, ValidateOptionsResultBuilder failures)
    {
        if (queries.ThresholdMs < 0)
        {
            failures.AddError($"Observability:SlowQueries:ThresholdMs must be >= 0 (0 disables); was {queries.ThresholdMs}.");
        }

        if (queries.MaxCommandTextLength < 1)
        {
            failures.AddError($"Observability:SlowQueries:MaxCommandTextLength must be >= 1; was {queries.MaxCommandTextLength}.");
        }

        // 1 would call every command that ran once "repeated".
        if (queries.RepeatedQueryThreshold is < 0 or 1)
        {
            failures.AddError($"Observability:SlowQueries:RepeatedQueryThreshold must be 0 (disables) or >= 2; was {queries.RepeatedQueryThreshold}.");
        }

        if (queries.MaxWarningsPerSecond < 1)
        {
            failures.AddError($"Observability:SlowQueries:MaxWarningsPerSecond must be >= 1; was {queries.MaxWarningsPerSecond}.");
        }
    }

    private static void ValidateSlowRequests(SlowRequestOptions slow, ValidateOptionsResultBuilder failures)
    {
        if (slow.ThresholdMs < 0)
        {
            failures.AddError($"Observability:SlowRequests:ThresholdMs must be >= 0 (0 disables); was {slow.ThresholdMs}.");
        }

        if (slow.HungAfterMs < 0)
        {
            failures.AddError($"Observability:SlowRequests:HungAfterMs must be >= 0 (0 disables); was {slow.HungAfterMs}.");
        }

        if (slow.MaxWarningsPerSecond < 1)
        {
            failures.AddError($"Observability:SlowRequests:MaxWarningsPerSecond must be >= 1; was {slow.MaxWarningsPerSecond}.");
        }

        if (slow.Routes is { } routes)
        {
            for (var i = 0; i < routes.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(routes[i].Route))
                {
                    failures.AddError($"Observability:SlowRequests:Routes:{i}:Route must be a route template such as /api/items/{{id:int}}; was '{routes[i].Route}'.");
                }

                if (routes[i].ThresholdMs < 0)
                {
                    failures.AddError($"Observability:SlowRequests:Routes:{i}:ThresholdMs must be >= 0 (0 disables); was {routes[i].ThresholdMs}.");
                }
            }
        }
    }

    private static void ValidateMetrics(MetricsOptions metrics, ValidateOptionsResultBuilder failures)
    {
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
                if (!System.Net.IPNetwork.TryParse(networks[i], out _))
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
                    failures.AddError($"Observability:Metrics:DurationBuckets:{i} must be positive, finite and greater than the bucket before it; was {buckets[i].ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
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

using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.SlowRequests;

/// <summary>Validates <c>Observability:SlowRequests</c> at startup, naming the key and the bad value.</summary>
internal sealed class SlowRequestOptionsValidator : IValidateOptions<ObservabilityOptions>
{
    public ValidateOptionsResult Validate(string? name, ObservabilityOptions options)
    {
        var failures = new ValidateOptionsResultBuilder();
        var slow = options.SlowRequests;
        if (slow.ThresholdMs < 0)
        {
            failures.AddError($"Observability:SlowRequests:ThresholdMs must be >= 0 (0 disables); was {slow.ThresholdMs}.");
        }

        if (slow.HungAfterMs < 0)
        {
            failures.AddError($"Observability:SlowRequests:HungAfterMs must be >= 0 (0 disables); was {slow.HungAfterMs}.");
        }

        if (slow.MaxWarningsPerSecond is < 1 or > WarningBudget.MaxRingSize)
        {
            failures.AddError($"Observability:SlowRequests:MaxWarningsPerSecond must be between 1 and {WarningBudget.MaxRingSize}; was {slow.MaxWarningsPerSecond}.");
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

                // Entries are matched as written, so a second one for the same template would silently win over the first.
                for (var j = 0; j < i; j++)
                {
                    if (string.Equals(routes[j].Route, routes[i].Route, StringComparison.Ordinal) && !string.IsNullOrWhiteSpace(routes[i].Route))
                    {
                        failures.AddError($"Observability:SlowRequests:Routes:{i}:Route is '{routes[i].Route}', already given at Observability:SlowRequests:Routes:{j}:Route; give each route one entry.");
                        break;
                    }
                }
            }
        }

        return failures.Build();
    }
}

using Microsoft.Extensions.Options;

namespace Observability.AspNetCore;

/// <summary>
/// Validates <see cref="ObservabilityOptions"/> at startup. Hand-written, because the source-generated
/// <c>[OptionsValidator]</c> names neither the configuration key nor the bad value, and both are what an operator
/// needs to fix a deployment.
/// </summary>
internal sealed class ObservabilityOptionsValidator : IValidateOptions<ObservabilityOptions>
{
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

        var logging = options.Logging;
        if (!Enum.IsDefined(logging.Format))
        {
            failures.AddError($"Observability:Logging:Format must be one of Json, Text; was '{logging.Format}'.");
        }

        if (!Enum.IsDefined(logging.OwnEndpointsLevel))
        {
            failures.AddError($"Observability:Logging:OwnEndpointsLevel must be one of Trace, Debug, Information, Warning, Error, Critical, None; was '{logging.OwnEndpointsLevel}'.");
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

        return failures.Build();
    }
}

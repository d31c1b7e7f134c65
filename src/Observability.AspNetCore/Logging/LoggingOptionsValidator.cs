using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.Logging;

/// <summary>Validates <c>Observability:Logging</c> at startup, naming the key and the bad value.</summary>
internal sealed class LoggingOptionsValidator : IValidateOptions<ObservabilityOptions>
{
    private const int MaxStdoutBufferBytes = 1024 * 1024 * 1024;

    public ValidateOptionsResult Validate(string? name, ObservabilityOptions options)
    {
        var failures = new ValidateOptionsResultBuilder();
        var logging = options.Logging;

        // Values set in code; configured text is checked by name in ConfiguredEnumNames.
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

        return failures.Build();
    }
}

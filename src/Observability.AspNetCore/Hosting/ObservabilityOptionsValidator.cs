using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.Hosting;

/// <summary>
/// Validates the keys of <see cref="ObservabilityOptions"/> no feature owns: the service identity. Each feature validates
/// its own section (<c>RequestIdOptionsValidator</c>, ...); the configured text is checked before binding
/// (<see cref="ConfigurationTextCheck"/>).
/// Hand-written, because the source-generated <c>[OptionsValidator]</c> names neither the configuration key nor the
/// bad value, and both are what an operator needs to fix a deployment.
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

        return failures.Build();
    }
}

using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Hosting;

/// <summary>
/// Checks the <c>Observability</c> section as configured text before it is bound: every key must be a setting, every
/// enum key one member's name. Runs before the binder because its own messages name neither the full key of an unknown
/// setting (inside list elements not even the setting) nor the names an enum key takes.
/// </summary>
internal sealed class ConfigurationTextCheck(IConfiguration configuration) : IConfigureOptions<ObservabilityOptions>
{
    public void Configure(ObservabilityOptions options)
    {
        var failures = new ValidateOptionsResultBuilder();
        UnknownKeys(configuration.GetSection(ObservabilityOptions.SectionName), typeof(ObservabilityOptions), failures);
        ConfiguredEnumNames.Validate(configuration, failures);
        var result = failures.Build();
        if (result.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(ObservabilityOptions), result.Failures);
        }
    }

    /// <summary>Names the unknown key only, never its value: a misspelled <c>ConnectionString</c> still holds a secret.</summary>
    private static void UnknownKeys(IConfigurationSection section, Type type, ValidateOptionsResultBuilder failures)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance);
        foreach (var child in section.GetChildren())
        {
            var property = Find(properties, child.Key);
            if (property is null)
            {
                failures.AddError($"{child.Path} is not a setting{Suggestion(properties, child.Key)}.");
                continue;
            }

            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            // JSON's empty [] and {} arrive as "": no text there.
            if (!string.IsNullOrEmpty(child.Value) && (IsOptionsType(propertyType) || ElementType(propertyType) is not null))
            {
                // The binder would quote the text in its own message, and a connection string written here holds a password.
                failures.AddError($"{child.Path} is a {(IsOptionsType(propertyType) ? "section of settings" : "list")}, written {child.Path}:<setting>{(IsOptionsType(propertyType) ? "" : " with 0, 1, ... as settings")}; it was given one text (not shown: it may hold a secret).");
                continue;
            }

            if (IsOptionsType(propertyType))
            {
                UnknownKeys(child, propertyType, failures);
            }
            else if (IsDictionary(propertyType))
            {
                // Any key is allowed (Otlp:Headers); the values may be secrets and are not looked at.
            }
            else if (ElementType(propertyType) is { } element)
            {
                foreach (var item in child.GetChildren())
                {
                    if (IsOptionsType(element))
                    {
                        UnknownKeys(item, element, failures);
                    }
                    else
                    {
                        ValueOnly(item, failures);
                    }
                }
            }
            else
            {
                ValueOnly(child, failures);
            }
        }
    }

    /// <summary>A key below a plain value (<c>Metrics:Path:Sub</c>) is bound to nothing.</summary>
    private static void ValueOnly(IConfigurationSection section, ValidateOptionsResultBuilder failures)
    {
        foreach (var child in section.GetChildren())
        {
            failures.AddError($"{child.Path} is not a setting; {section.Path} takes a single value.");
        }
    }

    private static PropertyInfo? Find(PropertyInfo[] properties, string key)
    {
        foreach (var property in properties)
        {
            if (string.Equals(property.Name, key, StringComparison.OrdinalIgnoreCase))
            {
                return property;
            }
        }

        return null;
    }

    /// <summary>The closest setting by edit distance, when it is close enough to be a typo rather than a different word.</summary>
    private static string Suggestion(PropertyInfo[] properties, string key)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var property in properties)
        {
            var distance = Distance(property.Name.ToUpperInvariant(), key.ToUpperInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (property.Name, distance);
            }
        }

        return best is not null && bestDistance <= Math.Max(2, best.Length / 3) ? $"; did you mean {best}?" : "";
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static bool IsOptionsType(Type type) =>
        type.IsClass && type != typeof(string) && type.Namespace == typeof(ObservabilityOptions).Namespace && type.Assembly == typeof(ObservabilityOptions).Assembly;

    private static bool IsDictionary(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() is var definition
        && (definition == typeof(IDictionary<,>) || definition == typeof(Dictionary<,>) || definition == typeof(IReadOnlyDictionary<,>));

    private static Type? ElementType(Type type) =>
        type.IsArray ? type.GetElementType()
        : type != typeof(string) && type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type) && type.GetGenericArguments() is [var element] ? element : null;
}

using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.Core;

/// <summary>
/// The configuration binder parses an enum value as a number ("1") or a flag combination ("Localhost,Anonymous") too,
/// and quietly gets some other member (Anonymous). Every enum key of the options tree must therefore be one member's
/// name, read from the raw configuration text; found by reflection (startup only), so a new enum key is covered too.
/// </summary>
internal static class ConfiguredEnumNames
{
    public static void Validate(IConfiguration configuration, ValidateOptionsResultBuilder failures) =>
        Visit(configuration.GetSection(ObservabilityOptions.SectionName), typeof(ObservabilityOptions), failures);

    private static void Visit(IConfigurationSection section, Type type, ValidateOptionsResultBuilder failures)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var child = section.GetSection(property.Name);
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (propertyType.IsEnum)
            {
                CheckName(child, propertyType, failures);
            }
            else if (IsOptionsType(propertyType))
            {
                Visit(child, propertyType, failures);
            }
            else if (ElementType(propertyType) is { } element && IsOptionsType(element))
            {
                foreach (var item in child.GetChildren())
                {
                    Visit(item, element, failures);
                }
            }
        }
    }

    private static void CheckName(IConfigurationSection section, Type enumType, ValidateOptionsResultBuilder failures)
    {
        var value = section.Value;
        if (value is null)
        {
            return;
        }

        var names = Enum.GetNames(enumType);
        foreach (var name in names)
        {
            if (string.Equals(name, value.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return;
            }
        }

        // The Serilog section beside it takes Serilog's level names; say which vocabulary this key takes.
        var vocabulary = enumType == typeof(LogLevel) ? " These are Microsoft.Extensions.Logging names: Serilog's Verbose is Trace, Fatal is Critical." : "";
        failures.AddError($"{section.Path} must be one of {string.Join(", ", names)} (a name, not a number or a combination); was '{value}'.{vocabulary}");
    }

    private static bool IsOptionsType(Type type) =>
        type.IsClass && type != typeof(string) && type.Namespace == typeof(ObservabilityOptions).Namespace && type.Assembly == typeof(ObservabilityOptions).Assembly;

    private static Type? ElementType(Type type) =>
        type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type) && type.GetGenericArguments() is [var element] ? element : null;
}

using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;

namespace Observability.AspNetCore.Pipeline;

/// <summary>Source-generated serialization for the 500 body the middleware writes when the app has no problem-details service.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(string))]
internal sealed partial class ProblemDetailsJsonContext : JsonSerializerContext;

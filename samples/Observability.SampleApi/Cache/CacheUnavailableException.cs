namespace Observability.SampleApi.Cache;

/// <summary>The cache is down or too slow; the endpoint answers 503 instead of hanging or failing with a 500.</summary>
internal sealed class CacheUnavailableException : Exception
{
    public CacheUnavailableException()
    {
    }

    public CacheUnavailableException(string message)
        : base(message)
    {
    }

    public CacheUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

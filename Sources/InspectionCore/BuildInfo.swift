/// What `--version` says and `iw_build_info` carries: the release, bumped with each one that
/// changes what the office is told or how the daemon is run.
public enum BuildInfo {
    public static let version = "0.9.0"
}

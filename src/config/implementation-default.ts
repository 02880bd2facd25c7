/**
 * A default that depends on which implementation serves (`USE_NEW_WS_MANAGER`). The loaders read the
 * switch first and then pick, so one table row states both values and `--help` and the docs show both.
 */
export class ImplementationDefault<T> {
  /**
   * @param legacy the default under the legacy baseline (`USE_NEW_WS_MANAGER` false or unset)
   * @param wsManager the default under WSManager (`USE_NEW_WS_MANAGER=true`)
   */
  constructor(
    readonly legacy: T,
    readonly wsManager: T,
  ) {}

  /** The default for the implementation `useNewWsManager` selects. */
  pick(useNewWsManager: boolean): T {
    return useNewWsManager ? this.wsManager : this.legacy;
  }

  /** As shown in `--help` and docs/configuration.md. */
  toString(): string {
    return `${String(this.legacy)} (legacy), ${String(this.wsManager)} (USE_NEW_WS_MANAGER=true)`;
  }
}

/**
 * The operator's Azure clients plus typed ones it does not use (identities, vaults, role
 * assignments), for tests that drive the emulator through Azure's own SDKs. Built with the same
 * options, so budgets, timeouts and retries behave as the operator's do.
 */
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { KeyVaultManagementClient } from '@azure/arm-keyvault';
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import { type AzureClientConfig, type AzureClients, azureClientOptions, createAzureClients } from '../../src/azure/clients.ts';

export interface TypedAzureClients extends AzureClients {
  readonly msi: ManagedServiceIdentityClient;
  readonly keyVault: KeyVaultManagementClient;
  readonly authorization: AuthorizationManagementClient;
}

export function createTypedAzureClients(config: AzureClientConfig): TypedAzureClients {
  const clients = createAzureClients(config);
  const { credential, subscriptionId } = clients;
  return {
    ...clients,
    msi: new ManagedServiceIdentityClient(credential, subscriptionId, azureClientOptions(config, 'msi')),
    keyVault: new KeyVaultManagementClient(credential, subscriptionId, azureClientOptions(config, 'keyvault')),
    authorization: new AuthorizationManagementClient(credential, subscriptionId, azureClientOptions(config, 'authorization')),
  };
}

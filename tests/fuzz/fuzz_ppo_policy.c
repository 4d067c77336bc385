/* fuzz_ppo_policy.c: ppo_policy.safetensors, through hs_ppo_policy_read as `hyscale evaluate
 * --policy FILE` calls it: the safetensors container and the policy's metadata (ENV version,
 * observation size, actions, hidden sizes) and tensors. */
#include "fuzz_common.h"

#include "hyscale/ppo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = hs_fuzz_write("ppo_policy.safetensors", data, size);
    if (!path)
        return 0;
    hs_ppo_policy_file pf;
    memset(&pf, 0, sizeof pf);
    if (hs_ppo_policy_read(path, &pf) == HS_OK)
        hs_ppo_policy_file_free(&pf);
    return 0;
}

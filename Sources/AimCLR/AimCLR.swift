// Module AimCLR.

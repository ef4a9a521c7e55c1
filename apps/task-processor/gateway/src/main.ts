import { runService } from "@ktsw/task-shared/service";
import { gatewayService } from "./service.ts";

await runService(gatewayService);

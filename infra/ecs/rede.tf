# The default VPC and its subnets unless given. Each security group admits only what its side needs: the load
# balancer takes HTTP (and HTTPS) from anywhere and reaches only the tasks' port; the tasks take the load balancer
# and reach HTTPS (ECR, Secrets Manager, CloudWatch Logs) and the database; the database takes the tasks only.
data "aws_vpc" "padrao" {
  count   = var.vpc_id == "" ? 1 : 0
  default = true
}

locals {
  vpc_id = var.vpc_id != "" ? var.vpc_id : data.aws_vpc.padrao[0].id
}

# Its address range: the load balancer's and the tasks' egress stay inside it (a group's id would make a cycle).
data "aws_vpc" "servico" {
  id = local.vpc_id
}

data "aws_subnets" "vpc" {
  filter {
    name   = "vpc-id"
    values = [local.vpc_id]
  }
}

data "aws_subnet" "vpc" {
  for_each = length(var.sub_redes) == 0 ? toset(data.aws_subnets.vpc.ids) : toset([])
  id       = each.value
}

# A load balancer takes one subnet per Availability Zone (CreateLoadBalancer, Subnets): of a VPC's, one per zone,
# the zone's first that gives public addresses (an internet-facing load balancer and its tasks' public IPs), else
# its first. Name sub_redes to choose them.
locals {
  sub_redes_por_zona = { for rede in data.aws_subnet.vpc : rede.availability_zone => rede... }
  sub_redes_vpc = sort([
    for zona, redes in local.sub_redes_por_zona :
    concat(sort([for rede in redes : rede.id if rede.map_public_ip_on_launch]), sort(redes[*].id))[0]
  ])
  sub_redes = length(var.sub_redes) > 0 ? var.sub_redes : local.sub_redes_vpc
}

resource "aws_security_group" "alb" {
  #checkov:skip=CKV_AWS_260:A public website: port 80 answers every request with a 301 to https once a domain is set, and is the only way in without one.
  name        = "${var.nome}-alb"
  description = "HTTP and HTTPS to the load balancer of ${var.nome}"
  vpc_id      = local.vpc_id
  tags        = var.etiquetas

  dynamic "ingress" {
    for_each = local.https ? [80, 443] : [80]
    content {
      description = ingress.value == 443 ? "HTTPS from the internet" : "HTTP from the internet (a redirect to HTTPS once a domain is set)"
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["0.0.0.0/0"]
    }
  }

  egress {
    description = "To the port of the tasks only"
    from_port   = var.porta
    to_port     = var.porta
    protocol    = "tcp"
    cidr_blocks = [data.aws_vpc.servico.cidr_block]
  }
}

resource "aws_security_group" "servico" {
  name        = "${var.nome}-tarefas"
  description = "The tasks of ${var.nome}, reached only from its load balancer"
  vpc_id      = local.vpc_id
  tags        = var.etiquetas

  ingress {
    description     = "The port of the service, from its load balancer only"
    from_port       = var.porta
    to_port         = var.porta
    protocol        = "tcp"
    security_groups = [aws_security_group.alb.id]
  }

  # No NAT or VPC endpoints in a default VPC: ECR, Secrets Manager and CloudWatch Logs answer on public addresses.
  egress {
    description = "HTTPS to AWS APIs: ECR and its S3 layers, Secrets Manager, CloudWatch Logs"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "PostgreSQL inside the VPC (the database of the service)"
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = [data.aws_vpc.servico.cidr_block]
  }
}

# The default VPC and its subnets unless given; the load balancer takes HTTP from anywhere, the tasks only from it.
data "aws_vpc" "padrao" {
  count   = var.vpc_id == "" ? 1 : 0
  default = true
}

locals {
  vpc_id = var.vpc_id != "" ? var.vpc_id : data.aws_vpc.padrao[0].id
}

data "aws_subnets" "vpc" {
  filter {
    name   = "vpc-id"
    values = [local.vpc_id]
  }
}

locals {
  sub_redes = length(var.sub_redes) > 0 ? var.sub_redes : data.aws_subnets.vpc.ids
}

resource "aws_security_group" "alb" {
  name        = "${var.nome}-alb"
  description = "HTTP to the load balancer of ${var.nome}"
  vpc_id      = local.vpc_id
  tags        = var.etiquetas

  ingress {
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "servico" {
  name        = "${var.nome}-tarefas"
  description = "The tasks of ${var.nome}, reached only from its load balancer"
  vpc_id      = local.vpc_id
  tags        = var.etiquetas

  ingress {
    from_port       = var.porta
    to_port         = var.porta
    protocol        = "tcp"
    security_groups = [aws_security_group.alb.id]
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
